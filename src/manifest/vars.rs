//! `${name}` substitution: `--var name=value`, then env `FLEET_VAR_<NAME>`, then `[vars]`.

use std::collections::BTreeMap;

use crate::error::Location;

/// The variables a manifest can use, and the names it used that nothing set.
pub(crate) struct Vars {
    cli: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    defaults: BTreeMap<String, String>,
    pub(crate) unresolved: Vec<(String, Location)>,
}

/// The environment variable that sets `${name}`: `FLEET_VAR_` and the name in upper case with
/// `-` as `_`.
pub fn env_name(name: &str) -> String {
    format!("FLEET_VAR_{}", name.to_ascii_uppercase().replace('-', "_"))
}

impl Vars {
    pub(crate) fn new(cli: BTreeMap<String, String>, env: BTreeMap<String, String>) -> Self {
        Self {
            cli,
            env,
            defaults: BTreeMap::new(),
            unresolved: Vec::new(),
        }
    }

    pub(crate) fn set_defaults(&mut self, defaults: BTreeMap<String, String>) {
        self.defaults = defaults;
    }

    fn lookup(&self, name: &str) -> Option<&String> {
        self.cli
            .get(name)
            .or_else(|| self.env.get(&env_name(name)))
            .or_else(|| self.defaults.get(name))
    }

    /// Every variable's effective value, for reporting.
    pub(crate) fn effective(&self) -> BTreeMap<String, String> {
        let mut names: Vec<&String> = self.defaults.keys().chain(self.cli.keys()).collect();
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| self.lookup(n).map(|v| (n.clone(), v.clone())))
            .collect()
    }

    /// Substitutes `${name}` in `text`; `$$` is a literal `$`. Unset names are recorded (first
    /// use only) and left empty.
    pub(crate) fn substitute(&mut self, text: &str, location: &Location) -> (String, Vec<String>) {
        let mut out = String::with_capacity(text.len());
        let mut used = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(stripped) = after.strip_prefix('$') {
                out.push('$');
                rest = stripped;
            } else if let (Some(body), Some(end)) = (after.strip_prefix('{'), after.find('}')) {
                let name = &body[..end - 1];
                match self.lookup(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        if !self.unresolved.iter().any(|(n, _)| n == name) {
                            self.unresolved.push((name.to_string(), location.clone()));
                        }
                    }
                }
                used.push(name.to_string());
                rest = &after[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        (out, used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Location {
        Location {
            file: "f".into(),
            line: Some(1),
            key: None,
        }
    }

    #[test]
    fn precedence_is_cli_env_defaults() {
        let mut vars = Vars::new(
            [("a".to_string(), "cli".to_string())].into(),
            [
                ("FLEET_VAR_B".to_string(), "env".to_string()),
                ("FLEET_VAR_A".to_string(), "env".to_string()),
            ]
            .into(),
        );
        vars.set_defaults(
            [
                ("a".into(), "d".into()),
                ("b".into(), "d".into()),
                ("c".into(), "d".into()),
            ]
            .into(),
        );
        let (out, used) = vars.substitute("${a}-${b}-${c}-$$-$x", &loc());
        assert_eq!(out, "cli-env-d-$-$x");
        assert_eq!(used, ["a", "b", "c"]);
        assert!(vars.unresolved.is_empty());
    }

    #[test]
    fn records_each_unresolved_name_once() {
        let mut vars = Vars::new(BTreeMap::new(), BTreeMap::new());
        vars.substitute("${x}/${y}/${x}", &loc());
        let names: Vec<_> = vars.unresolved.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x", "y"]);
    }
}
