//! `inputs IMAGE`: every entry that will be sent to the engine.

use serde_json::json;

use super::Failure;
use crate::cli::args::InputsArgs;
use crate::cli::Session;
use crate::error::Exit;
use crate::hash::{self, EntryKind};
use crate::manifest;
use crate::state::ContentCache;

/// Runs `inputs`.
pub async fn run(session: &Session, args: InputsArgs) -> Result<Exit, Failure> {
    let manifest = session.load_manifest()?;
    let name = manifest::select(&manifest, std::slice::from_ref(&args.image))?
        .pop()
        .expect("select returns at least the named image");
    let spec = manifest.image(&name).expect("selected").clone();
    let state_dir = session.state_dir.clone();
    let inputs = tokio::task::spawn_blocking(move || {
        let cache = ContentCache::load(&state_dir);
        let inputs = hash::inputs::read(&spec, &cache);
        cache.save();
        inputs
    })
    .await
    .map_err(|e| crate::error::Internal::from_join("hashing the context", e))??;
    if args.json {
        let entries: Vec<_> = inputs.entries.iter().map(|e| e.to_json()).collect();
        let value = json!({
            "image": inputs.image,
            "context": inputs.context,
            "dockerfile": inputs.dockerfile_path,
            "ignore_file": inputs.ignore_file,
            "whole_context": inputs.whole_context,
            "files": inputs.files(),
            "bytes": inputs.bytes(),
            "entries": entries,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&value).expect("json"));
    } else {
        for entry in &inputs.entries {
            let (kind, detail) = match &entry.kind {
                EntryKind::File { sha256, .. } => ("file", hex::encode(sha256)),
                EntryKind::Dir => ("dir", "-".to_string()),
                EntryKind::Symlink { target } => ("link", format!("-> {target}")),
            };
            crate::outln!(
                "{kind:4} {:04o} {:>10} {detail} {}",
                entry.mode(),
                entry.size(),
                entry.path
            );
        }
        std::io::Write::flush(&mut std::io::stdout()).ok();
        let scope = match &inputs.whole_context {
            Some(reason) => format!("the whole filtered context ({reason})"),
            None => "only the paths the Dockerfile reads".to_string(),
        };
        crate::errln!(
            "{} files, {} bytes: {scope}",
            inputs.files(),
            inputs.bytes()
        );
    }
    Ok(Exit::Success)
}
