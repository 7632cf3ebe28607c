//! The salt of the state directory's arg hashes: made once, kept in `inputs/salt`, so an input
//! record never holds a plain hash of an arg's value that a short secret could be guessed from.

use std::fs;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// The state directory's salt, made and written on first use.
pub fn salt(state_dir: &Path) -> String {
    let path = state_dir.join("inputs").join("salt");
    if let Ok(salt) = crate::input_file::read_text_capped(&path, crate::input_file::IGNORE_CAP) {
        if !salt.trim().is_empty() {
            return salt.trim().to_string();
        }
    }
    let seed = format!(
        "{:?}{}{:p}",
        std::time::SystemTime::now(),
        std::process::id(),
        &path
    );
    let salt = hex::encode(&Sha256::digest(seed)[..16]);
    let _ = fs::create_dir_all(state_dir.join("inputs"));
    let _ = fs::write(&path, &salt);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_salt_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = salt(dir.path());
        assert_eq!(first.len(), 32);
        assert_eq!(salt(dir.path()), first);
        assert_eq!(
            fs::read_to_string(dir.path().join("inputs").join("salt")).unwrap(),
            first
        );
        let other = tempfile::tempdir().unwrap();
        assert_ne!(salt(other.path()), first);
    }
}
