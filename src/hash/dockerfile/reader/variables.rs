//! `ARG` and `ENV`, and the variables a word sees: the global args before the first `FROM`, then
//! the stage's `ENV` (which wins) and its declared `ARG`s, with the caller's build args winning
//! over `ARG` defaults.

use super::Reader;
use crate::hash::dockerfile::error::missing;
use crate::hash::dockerfile::error::DockerfileError;
use crate::hash::dockerfile::expand::{expand, Expanded};
use crate::hash::dockerfile::lex::split_keyword;
use crate::hash::dockerfile::words::words;

impl Reader<'_> {
    /// The value of a variable in the current scope: the global args before the first `FROM`,
    /// then the stage's `ENV` (which wins) and its declared `ARG`s.
    fn lookup(&self, name: &str) -> Option<String> {
        match self.stages.last() {
            None => self.global.get(name).cloned().flatten(),
            Some(state) => state
                .env
                .get(name)
                .cloned()
                .or_else(|| state.args.get(name).cloned().flatten()),
        }
    }

    pub(super) fn expand(&self, word: &str, line: usize) -> Result<Expanded, DockerfileError> {
        expand(word, self.escape, &|name| self.lookup(name)).map_err(|error| error.at(line, word))
    }

    pub(super) fn arg(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        for word in words(args, self.escape) {
            let (name, default) = match word.split_once('=') {
                Some((name, default)) => (name, Some(default)),
                None => (word.as_str(), None),
            };
            if name.is_empty() {
                return Err(DockerfileError::InvalidKeyValue {
                    line,
                    instruction: "ARG",
                    word,
                });
            }
            // The caller's value wins over the default; a stage's `ARG NAME` without a default
            // takes the global value.
            let value = match (self.build_args.get(name).cloned().flatten(), default) {
                (Some(value), _) => Some(value),
                (None, Some(default)) => Some(self.expand(default, line)?.text),
                (None, None) if !self.stages.is_empty() => self.global.get(name).cloned().flatten(),
                (None, None) => None,
            };
            self.declared.insert(name.to_owned());
            match self.stages.last_mut() {
                None => self.global.insert(name.to_owned(), value),
                Some(state) => state.args.insert(name.to_owned(), value),
            };
        }
        Ok(())
    }

    pub(super) fn env(&mut self, line: usize, args: &str) -> Result<(), DockerfileError> {
        let words = words(args, self.escape);
        let mut pairs = Vec::new();
        if words.first().is_some_and(|word| !word.contains('=')) {
            // The legacy form `ENV NAME value with spaces`.
            let (name, value) = split_keyword(args);
            if value.is_empty() {
                return Err(missing(line, "ENV"));
            }
            pairs.push((name.to_owned(), self.expand(value, line)?.text));
        } else {
            // Every value sees the variables as they were before this instruction.
            for word in &words {
                match word.split_once('=') {
                    Some((name, value)) if !name.is_empty() => pairs.push((
                        self.expand(name, line)?.text,
                        self.expand(value, line)?.text,
                    )),
                    _ => {
                        return Err(DockerfileError::InvalidKeyValue {
                            line,
                            instruction: "ENV",
                            word: word.clone(),
                        })
                    }
                }
            }
        }
        let state = self
            .stages
            .last_mut()
            .expect("instructions before FROM are rejected");
        for (name, value) in pairs {
            state.env.insert(name.clone(), value.clone());
            match state.stage.env.iter_mut().find(|(key, _)| *key == name) {
                Some(entry) => entry.1 = value,
                None => state.stage.env.push((name, value)),
            }
        }
        Ok(())
    }
}
