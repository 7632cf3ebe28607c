//! The input records `plan --explain` compares against: made for each image whose key differs
//! from the one recorded last on this machine (a record of a large context is thousands of lines,
//! and a no-op run must stay cheap), saved after a successful plan or build.

use std::collections::HashMap;
use std::path::Path;

use super::base::BaseIdentity;
use super::keys::dependency_keys;
use super::observation::Prepared;
use crate::error::Exit;
use crate::names::{ImageName, Key};
use crate::state::{self, record, Record, RecordInputs};

/// Makes the record of every keyed image whose key changed since the last record.
pub fn make(state_dir: &Path, mut images: Vec<Prepared>) -> Vec<Prepared> {
    let keyed: HashMap<ImageName, Result<Key, Exit>> = images
        .iter()
        .map(|p| (p.spec.name.clone(), p.key.ok_or(Exit::BadInput)))
        .collect();
    // Made (and written) once, and only when a record needs it.
    let mut salt: Option<String> = None;
    for prepared in images.iter_mut() {
        let (Some(key), Ok(inputs)) = (prepared.key, &prepared.inputs) else {
            continue;
        };
        if record::recorded_key(state_dir, &prepared.spec.name).as_deref()
            == Some(key.hex().as_str())
        {
            continue;
        }
        let Ok(dependencies) = dependency_keys(&prepared.spec, &keyed) else {
            continue;
        };
        let bases: Vec<(String, String)> =
            prepared.bases.iter().map(BaseIdentity::key_pair).collect();
        let salt = salt.get_or_insert_with(|| state::salt(state_dir));
        prepared.record = Some(Record::new(
            &RecordInputs {
                entries: inputs.clone(),
                dockerfile: &inputs.dockerfile_bytes,
                key,
                args: &prepared.spec.args,
                bases: &bases,
                dependencies: &dependencies,
                platform: prepared.spec.platform.to_string(),
                target: prepared.spec.target.clone(),
            },
            salt,
        ));
    }
    images
}

/// The records to save, taken out of the observation's images.
pub fn to_save(images: &[Prepared]) -> Vec<(ImageName, Record)> {
    images
        .iter()
        .filter_map(|p| Some((p.spec.name.clone(), p.record.clone()?)))
        .collect()
}

/// Saves each record (best effort: a record only helps explain).
pub fn save(state_dir: &Path, records: &[(ImageName, Record)]) {
    for (name, record) in records {
        record::save(state_dir, name, record);
    }
}
