//! The comparison `plan --explain` prints between an image's input record from the last
//! successful plan or build on this machine and the current one: added, removed and changed
//! paths, changed args (never their values), changed bases and dependencies. Pure: the records
//! are read and written by [`crate::state::record`].

use crate::state::Record;

/// The differences between the previous record and the current one, one line each.
pub fn compare(old: &Record, new: &Record) -> Vec<String> {
    let mut lines = Vec::new();
    if old.key == new.key {
        return lines;
    }
    let (old_entries, new_entries) = (old.entries.map(), new.entries.map());
    for (path, value) in new_entries.iter() {
        match old_entries.get(path) {
            None => lines.push(format!("added: {path}")),
            Some(previous) if previous != value => {
                let what = match (previous.split(':').nth(1), value.split(':').nth(1)) {
                    (Some(a), Some(b))
                        if a != b
                            && previous.starts_with("file")
                            && value.starts_with("file")
                            && previous.rsplit(':').next() == value.rsplit(':').next() =>
                    {
                        "changed (exec bit)"
                    }
                    _ => "changed",
                };
                lines.push(format!("{what}: {path}"));
            }
            _ => {}
        }
    }
    for path in old_entries.keys() {
        if !new_entries.contains_key(path) {
            lines.push(format!("removed: {path}"));
        }
    }
    if old.dockerfile != new.dockerfile {
        lines.push("changed: the Dockerfile".into());
    }
    for (arg, value) in &new.args {
        match old.args.get(arg) {
            None => lines.push(format!("arg added: {arg}")),
            Some(v) if v != value => lines.push(format!("arg changed: {arg}")),
            _ => {}
        }
    }
    for arg in old.args.keys().filter(|a| !new.args.contains_key(*a)) {
        lines.push(format!("arg removed: {arg}"));
    }
    for (base, identity) in &new.bases {
        match old.bases.get(base) {
            None => lines.push(format!("base added: {base}")),
            Some(v) if v != identity => {
                lines.push(format!("base changed: {base} ({v} -> {identity})"))
            }
            _ => {}
        }
    }
    for base in old.bases.keys().filter(|b| !new.bases.contains_key(*b)) {
        lines.push(format!("base removed: {base}"));
    }
    for (dep, key) in &new.dependencies {
        if old.dependencies.get(dep) != Some(key) {
            lines.push(format!("dependency changed: {dep}"));
        }
    }
    if old.platform != new.platform {
        lines.push(format!(
            "platform changed: {} -> {}",
            old.platform, new.platform
        ));
    }
    if old.target != new.target {
        lines.push(format!(
            "target changed: {:?} -> {:?}",
            old.target, new.target
        ));
    }
    lines
}
