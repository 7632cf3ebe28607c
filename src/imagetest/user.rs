//! Whether a test container runs as the declared user.
//!
//! What is compared is the user the container is configured to run as (`Config.User` of the
//! running container: the image's `USER`, since the test does not override it), not the uid of
//! its processes: it needs no tool in the image (Conduit's has no shell, no `id`), and an image
//! whose entrypoint switches users is rare in this fleet. A name and a uid are matched through the
//! image's `/etc/passwd`, read through the archive API.

/// The user part of `user[:group]`; empty means root.
fn user_part(user: &str) -> &str {
    user.split(':').next().unwrap_or_default().trim()
}

/// Whether a user name or uid needs `/etc/passwd` to be compared with the other.
pub(crate) fn needs_passwd(declared: &str, configured: &str) -> bool {
    let named = |u: &str| {
        let u = user_part(u);
        !u.is_empty() && u != "root" && u.parse::<u32>().is_err()
    };
    user_part(declared) != user_part(configured) && (named(declared) || named(configured))
}

/// The uid of a user name or number, from `/etc/passwd` when it is a name.
fn uid(user: &str, passwd: Option<&str>) -> Option<u32> {
    let user = user_part(user);
    if user.is_empty() || user == "root" {
        return Some(0);
    }
    if let Ok(n) = user.parse() {
        return Some(n);
    }
    passwd?.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(user))
            .then(|| fields.nth(1).and_then(|uid| uid.parse().ok()))
            .flatten()
    })
}

/// `Ok` when the container's configured user is the declared one; else why not.
pub(crate) fn check(declared: &str, configured: &str, passwd: Option<&str>) -> Result<(), String> {
    let shown = if user_part(configured).is_empty() {
        "root (no USER)"
    } else {
        configured
    };
    if user_part(declared) == user_part(configured) {
        return Ok(());
    }
    match (uid(declared, passwd), uid(configured, passwd)) {
        (Some(want), Some(got)) if want == got => Ok(()),
        (Some(want), Some(got)) => Err(format!("the container runs as `{shown}` (uid {got}), not as `{declared}` (uid {want})")),
        (None, _) => Err(format!(
            "the container runs as `{shown}`; `{declared}` is not in the image's /etc/passwd, so they cannot be compared"
        )),
        (_, None) => Err(format!(
            "the container runs as `{shown}`, which is not in the image's /etc/passwd, so it cannot be compared with `{declared}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnginx:x:101:101::/:/sbin/nologin\n";

    #[test]
    fn same_spelling_needs_nothing() {
        assert_eq!(check("101", "101", None), Ok(()));
        assert_eq!(check("1000", "1000:1000", None), Ok(()));
        assert_eq!(check("root", "", None), Ok(()));
        assert_eq!(check("0", "", None), Ok(()));
        assert!(!needs_passwd("101", "101"));
    }

    #[test]
    fn names_and_uids_through_passwd() {
        assert!(needs_passwd("1000", "app"));
        assert_eq!(check("1000", "app", Some(PASSWD)), Ok(()));
        assert_eq!(check("nginx", "101", Some(PASSWD)), Ok(()));
        assert_eq!(
            check("101", "app", Some(PASSWD)),
            Err("the container runs as `app` (uid 1000), not as `101` (uid 101)".into())
        );
        assert!(check("ghost", "101", Some(PASSWD))
            .unwrap_err()
            .contains("not in the image's /etc/passwd"));
        assert!(check("1000", "app", None).is_err());
    }

    #[test]
    fn root_is_not_a_declared_non_root_user() {
        assert_eq!(
            check("101", "", None),
            Err("the container runs as `root (no USER)` (uid 0), not as `101` (uid 101)".into())
        );
    }
}
