#![allow(missing_docs, unused)]
pub struct DockerIgnore;
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub enum IgnoreError { Bad { line: usize, pattern: String } }
impl DockerIgnore {
    pub fn parse(text: &str) -> Result<DockerIgnore, IgnoreError> { Ok(DockerIgnore) }
    pub fn empty() -> DockerIgnore { DockerIgnore }
    pub fn is_empty(&self) -> bool { true }
    pub fn excluded(&self, rel_path: &str, parent_excluded: bool) -> bool { parent_excluded }
    pub fn can_prune(&self, rel_dir: &str) -> bool { true }
    pub fn patterns(&self) -> impl Iterator<Item = &str> { std::iter::empty() }
}
impl IgnoreError { pub fn line(&self) -> usize { 0 } }
