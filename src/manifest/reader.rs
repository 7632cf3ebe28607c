//! A reader over the parsed TOML that knows where each value was written: typed getters that
//! substitute `${vars}`, and a check that a table holds no key the tool does not know.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::vars::Vars;
use super::ManifestError;
use crate::error::{did_you_mean, Location};

/// The manifest text and its name, to turn byte offsets into lines.
pub(crate) struct Source<'a> {
    pub(crate) display: String,
    pub(crate) text: &'a str,
    /// The byte offset where each line after the first starts, so that finding a key's line is a
    /// binary search rather than a count from the start (which made loading quadratic).
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(display: String, text: &'a str) -> Self {
        let line_starts = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        Self {
            display,
            text,
            line_starts,
        }
    }

    pub(crate) fn location(&self, span: &Range<usize>, key: &str) -> Location {
        let offset = span.start.min(self.text.len());
        let line = self.line_starts.partition_point(|start| *start <= offset) + 1;
        Location {
            file: self.display.clone(),
            line: Some(line),
            key: (!key.is_empty()).then(|| key.to_string()),
        }
    }
}

/// One TOML table being read, with the dotted path that names it.
pub(crate) struct Table<'a, 'i> {
    pub(crate) source: &'a Source<'a>,
    pub(crate) path: String,
    pub(crate) span: Range<usize>,
    table: &'a DeTable<'i>,
    seen: BTreeSet<String>,
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a, 'i> Table<'a, 'i> {
    pub(crate) fn root(source: &'a Source<'a>, table: &'a Spanned<DeTable<'i>>) -> Self {
        Self {
            source,
            path: String::new(),
            span: table.span(),
            table: table.get_ref(),
            seen: BTreeSet::new(),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// How the table is named in messages: `[images.element]`, or `the manifest` at the top.
    pub(crate) fn display_name(&self) -> String {
        if self.path.is_empty() {
            "the manifest".into()
        } else {
            format!("`[{}]`", self.path)
        }
    }

    /// The location of the table itself.
    pub(crate) fn location(&self) -> Location {
        self.source.location(&self.span, &self.path)
    }

    /// The location of one of its keys (the table's own when the key is absent).
    pub(crate) fn location_of(&self, key: &str) -> Location {
        match self.entry(key) {
            Some((k, _)) => self.source.location(&k.span(), &self.key_path(key)),
            None => self.source.location(&self.span, &self.key_path(key)),
        }
    }

    fn entry(
        &self,
        key: &str,
    ) -> Option<(
        &'a Spanned<std::borrow::Cow<'i, str>>,
        &'a Spanned<DeValue<'i>>,
    )> {
        self.table.get_key_value(key)
    }

    fn get(&mut self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.seen.insert(key.to_string());
        self.entry(key).map(|(_, v)| v)
    }

    fn wrong_type(&self, key: &str, expected: &'static str, value: &DeValue<'_>) -> ManifestError {
        ManifestError::WrongType {
            location: self.location_of(key),
            key: self.key_path(key),
            expected,
            found: type_name(value),
        }
    }

    /// The keys of this table in file order, with their locations.
    pub(crate) fn keys(&self) -> Vec<(String, Location)> {
        let mut keys: Vec<_> = self
            .table
            .iter()
            .map(|(k, _)| {
                (
                    k.span().start,
                    k.get_ref().to_string(),
                    self.source.location(&k.span(), &self.key_path(k.get_ref())),
                )
            })
            .collect();
        keys.sort_by_key(|(start, _, _)| *start);
        keys.into_iter().map(|(_, k, l)| (k, l)).collect()
    }

    /// A string, with `${vars}` substituted. Returns the names the raw text used too.
    pub(crate) fn string(
        &mut self,
        key: &str,
        vars: &mut Vars,
    ) -> Result<Option<(String, Location, Vec<String>)>, ManifestError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let location = self.location_of(key);
        match value.get_ref() {
            DeValue::String(text) => {
                let (value, used) = vars.substitute(text, &location);
                Ok(Some((value, location, used)))
            }
            other => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// A string taken as it is written, without substitution (for `[vars]` itself).
    pub(crate) fn raw_strings(&mut self) -> Result<Vec<(String, String)>, ManifestError> {
        let mut out = Vec::new();
        for (key, _) in self.keys() {
            let value = self.get(&key).expect("key listed above");
            match value.get_ref() {
                DeValue::String(text) => out.push((key, text.to_string())),
                other => return Err(self.wrong_type(&key, "a string", other)),
            }
        }
        Ok(out)
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Result<Option<bool>, ManifestError> {
        match self.get(key).map(Spanned::get_ref) {
            None => Ok(None),
            Some(DeValue::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    pub(crate) fn integer(
        &mut self,
        key: &str,
        range: Range<i64>,
    ) -> Result<Option<i64>, ManifestError> {
        let value = match self.get(key).map(Spanned::get_ref) {
            None => return Ok(None),
            Some(DeValue::Integer(i)) => {
                let digits = i.as_str().replace('_', "");
                let digits = digits
                    .trim_start_matches("0x")
                    .trim_start_matches("0o")
                    .trim_start_matches("0b");
                i64::from_str_radix(digits, i.radix()).ok()
            }
            Some(other) => return Err(self.wrong_type(key, "an integer", other)),
        };
        match value {
            Some(v) if range.contains(&v) => Ok(Some(v)),
            _ => Err(ManifestError::InvalidValue {
                location: self.location_of(key),
                message: format!(
                    "`{}` must be between {} and {}",
                    self.key_path(key),
                    range.start,
                    range.end - 1
                ),
                hint: None,
            }),
        }
    }

    /// An array of strings, each with `${vars}` substituted.
    pub(crate) fn strings(
        &mut self,
        key: &str,
        vars: &mut Vars,
    ) -> Result<Option<Vec<(String, Location)>>, ManifestError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of strings", value.get_ref()));
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let location = self.source.location(&item.span(), &self.key_path(key));
            match item.get_ref() {
                DeValue::String(text) => out.push((vars.substitute(text, &location).0, location)),
                other => return Err(self.wrong_type(key, "an array of strings", other)),
            }
        }
        Ok(Some(out))
    }

    /// A sub-table (written `[a.b]` or inline `b = { … }`).
    pub(crate) fn table(&mut self, key: &str) -> Result<Option<Table<'a, 'i>>, ManifestError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Table(table) => Ok(Some(Table {
                source: self.source,
                path: self.key_path(key),
                span: self
                    .entry(key)
                    .map(|(k, _)| k.span())
                    .unwrap_or(value.span()),
                table,
                seen: BTreeSet::new(),
            })),
            other => Err(self.wrong_type(key, "a table", other)),
        }
    }

    /// An array of inline tables (`services = [{ … }, { … }]`).
    pub(crate) fn tables(&mut self, key: &str) -> Result<Vec<Table<'a, 'i>>, ManifestError> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong_type(key, "an array of tables", value.get_ref()));
        };
        let mut out = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(table) => out.push(Table {
                    source: self.source,
                    path: format!("{}[{index}]", self.key_path(key)),
                    span: item.span(),
                    table,
                    seen: BTreeSet::new(),
                }),
                other => return Err(self.wrong_type(key, "an array of tables", other)),
            }
        }
        Ok(out)
    }

    /// A table of strings (`args = { … }`), substituted.
    pub(crate) fn string_map(
        &mut self,
        key: &str,
        vars: &mut Vars,
    ) -> Result<BTreeMap<String, String>, ManifestError> {
        let Some(mut table) = self.table(key)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (name, _) in table.keys() {
            if let Some((value, _, _)) = table.string(&name, vars)? {
                out.insert(name, value);
            }
        }
        Ok(out)
    }

    /// Fails on the first key not in `known`, before any value is read: a misspelt key is
    /// reported as such rather than as the missing key it was meant to be.
    pub(crate) fn reject_unknown(&self, known: &[&'static str]) -> Result<(), ManifestError> {
        for (key, location) in self.keys() {
            if !known.contains(&key.as_str()) {
                return Err(ManifestError::UnknownKey {
                    location,
                    suggestion: did_you_mean(&key, known.iter().copied()).map(str::to_string),
                    known: known.to_vec(),
                    table: self.display_name(),
                    key,
                });
            }
        }
        Ok(())
    }

    /// Fails on the first key that no getter asked for, suggesting the closest known one.
    pub(crate) fn finish(self, known: &[&'static str]) -> Result<(), ManifestError> {
        for (key, location) in self.keys() {
            if !self.seen.contains(&key) {
                return Err(ManifestError::UnknownKey {
                    location,
                    suggestion: did_you_mean(&key, known.iter().copied()).map(str::to_string),
                    known: known.to_vec(),
                    table: self.display_name(),
                    key,
                });
            }
        }
        Ok(())
    }
}
