//! The ECR lifecycle policy the tool keeps on its repositories: expire all but the newest
//! `keep_images` images that carry a key tag (`key-…`). Moving tags ride on key-tagged images,
//! so the rule sees every image the tool pushed. See
//! <https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html>.

use serde_json::{json, Value};

/// The prefix of key tags (`Key::tag`); a test holds the two together, since `names` keeps its
/// constant private.
const KEY_TAG_PREFIX: &str = "key-";

/// The policy text for `keep_images`.
pub(crate) fn policy(keep_images: u32) -> String {
    policy_value(keep_images).to_string()
}

fn policy_value(keep_images: u32) -> Value {
    json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("fleet-images: keep the newest {keep_images} images with a key tag"),
            "selection": {
                "tagStatus": "tagged",
                "tagPrefixList": [KEY_TAG_PREFIX],
                "countType": "imageCountMoreThan",
                "countNumber": keep_images,
            },
            "action": { "type": "expire" },
        }]
    })
}

/// Whether the repository's current policy (`None`: it has none) must be replaced. Compared as
/// JSON, not text: ECR may hand back the policy reformatted.
pub(crate) fn needs_update(current: Option<&str>, keep_images: u32) -> bool {
    let Some(current) = current else { return true };
    match serde_json::from_str::<Value>(current) {
        Ok(value) => value != policy_value(keep_images),
        Err(_) => true,
    }
}

/// Whether a policy is one this tool wrote (its rule's description says so), whatever its count.
pub(crate) fn is_ours(policy: &str) -> bool {
    serde_json::from_str::<Value>(policy).is_ok_and(|value| {
        value["rules"].as_array().is_some_and(|rules| {
            rules.iter().any(|r| {
                r["description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("fleet-images:"))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Key;

    #[test]
    fn policy_keeps_the_newest_key_tagged_images() {
        let text = policy(30);
        let value: Value = serde_json::from_str(&text).unwrap();
        let rule = &value["rules"][0];
        assert_eq!(rule["selection"]["tagStatus"], "tagged");
        assert_eq!(rule["selection"]["tagPrefixList"], json!(["key-"]));
        assert_eq!(rule["selection"]["countType"], "imageCountMoreThan");
        assert_eq!(rule["selection"]["countNumber"], 30);
        assert_eq!(rule["action"]["type"], "expire");
        assert!(Key::from_bytes([1; 32])
            .tag()
            .as_str()
            .starts_with(KEY_TAG_PREFIX));
        assert!(Key::from_bytes([1; 32]).tag().is_key_tag());
    }

    #[test]
    fn compares_as_json() {
        let reformatted = serde_json::to_string_pretty(&policy_value(30)).unwrap();
        assert!(!needs_update(Some(&reformatted), 30));
        assert!(needs_update(Some(&policy(30)), 31));
        assert!(needs_update(None, 30));
        assert!(needs_update(Some("not json"), 30));
        assert!(is_ours(&policy(5)));
        assert!(!is_ours(
            r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#
        ));
        assert!(!is_ours("not json"));
    }
}
