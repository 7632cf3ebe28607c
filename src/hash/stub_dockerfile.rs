#![allow(missing_docs, unused)]
use std::collections::BTreeMap;
#[derive(Debug)] pub struct Dockerfile { pub stages: Vec<Stage>, pub external_images: Vec<ExternalImage>, pub context_reads: ContextReads, pub notes: Vec<String> }
#[derive(Debug)] pub struct Stage { pub name: Option<String>, pub base: String, pub line: usize, pub user: Option<String>, pub exposed_ports: Vec<String>, pub env: Vec<(String,String)>, pub has_healthcheck: bool }
#[derive(Debug)] pub struct ExternalImage { pub reference: String, pub line: usize, pub via: ImageUse, pub arg: Option<String> }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageUse { From, CopyFrom, MountFrom }
#[derive(Debug)] pub enum ContextReads { Paths(Vec<ContextSource>), Whole { reason: String, line: usize } }
#[derive(Debug)] pub struct ContextSource { pub pattern: String, pub line: usize }
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub enum DockerfileError { Bad { line: usize } }
pub fn parse(text: &str, build_args: &BTreeMap<String, Option<String>>) -> Result<Dockerfile, DockerfileError> { todo!() }
pub fn parse_for_target(text: &str, build_args: &BTreeMap<String, Option<String>>, target: Option<&str>) -> Result<Dockerfile, DockerfileError> { todo!() }
impl ContextSource { pub fn covers(&self, rel_path: &str) -> bool { todo!() } pub fn literal_prefix(&self) -> &str { todo!() } }
impl DockerfileError { pub fn line(&self) -> usize { 0 } }
