//! An in-memory ECS for the unit tests: services, revisions, a log of every call, and a script
//! of what each service's rollout does at each `DescribeServices`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use super::ecs::{
    parse_revision, short_name, CircuitBreaker, Container, Deployment, DescribedServices, Ecs,
    EcsError, EcsErrorKind, RevisionChanges, RolloutState, Service, ServiceDeployment,
    ServiceEvent, ServiceUpdate, StoppedTask, TaskDefinition,
};

const ACCOUNT: &str = "arn:aws:ecs:us-east-1:123456789012";

/// One call the double received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    DescribeServices(String, Vec<String>),
    ListClusters,
    ListServices(String),
    DescribeTaskDefinition(String),
    Register(String),
    Update(ServiceUpdate),
    ListTaskDefinitions(String),
    Deregister(String),
    StoppedTasks(String),
    RunningTasks(String),
    ServiceDeployments(String),
}

impl Call {
    pub(crate) fn is_mutating(&self) -> bool {
        matches!(
            self,
            Call::Register(_) | Call::Update(_) | Call::Deregister(_)
        )
    }
}

/// What a service's rollout does at one `DescribeServices`.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Nothing changes.
    InProgress,
    /// One more task runs.
    Progress,
    /// The primary deployment completes; older ones go away.
    Complete,
    /// The primary deployment's rollout fails.
    Fail(&'static str),
    /// The primary deployment fails and disappears; a new primary deployment of the previous
    /// revision completes (the circuit breaker's rollback).
    Rollback,
    /// The primary deployment disappears and the previous one is primary again, stable.
    StableOnOld,
    /// Someone else deploys another revision.
    Supersede,
    /// `DescribeServices` never answers (a stalled connection).
    Stall,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub services: Vec<(String, Service)>,
    pub definitions: Vec<TaskDefinition>,
    pub inactive: BTreeSet<String>,
    pub calls: Vec<Call>,
    /// Played one step per `DescribeServices`, once the service was updated.
    pub scripts: HashMap<String, VecDeque<Step>>,
    pub updated: BTreeSet<String>,
    pub stopped: HashMap<String, Vec<StoppedTask>>,
    /// Task definitions of running tasks (`RunTask`'s included), by cluster.
    pub running: HashMap<String, Vec<String>>,
    /// `DescribeServiceDeployments` answers, one list per call, by service; `None` (the default):
    /// the API is missing, as in moto.
    pub service_deployments: Option<HashMap<String, VecDeque<Vec<ServiceDeployment>>>>,
    /// Answer updates as moto does: no new deployment, only the service's taskDefinition.
    pub moto_updates: bool,
    next_deployment: u32,
}

#[derive(Debug, Default)]
pub(crate) struct FakeEcs {
    pub state: Mutex<State>,
}

pub(crate) fn arn(family: &str, revision: i32) -> String {
    format!("{ACCOUNT}:task-definition/{family}:{revision}")
}

/// A revision with `(name, image)` containers.
pub(crate) fn definition(
    family: &str,
    revision: i32,
    containers: &[(&str, &str)],
    cpu_architecture: Option<&str>,
) -> TaskDefinition {
    TaskDefinition {
        arn: arn(family, revision),
        family: family.into(),
        revision,
        containers: containers
            .iter()
            .map(|(n, i)| Container {
                name: n.to_string(),
                image: i.to_string(),
                environment: Vec::new(),
            })
            .collect(),
        cpu_architecture: cpu_architecture.map(str::to_string),
        requires_compatibilities: vec!["FARGATE".into()],
        tags: vec![("team".into(), "fleet".into())],
    }
}

impl FakeEcs {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add_definition(&self, d: TaskDefinition) {
        self.state.lock().unwrap().definitions.push(d);
    }

    /// A Fargate service on `task_definition` with the circuit breaker on, stable.
    pub(crate) fn add_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        desired: i32,
    ) {
        let mut state = self.state.lock().unwrap();
        state.next_deployment += 1;
        let service = Service {
            arn: format!("{ACCOUNT}:service/{cluster}/{name}"),
            name: name.into(),
            cluster_arn: format!("{ACCOUNT}:cluster/{cluster}"),
            status: "ACTIVE".into(),
            task_definition: Some(task_definition.into()),
            desired_count: desired,
            running_count: desired,
            launch_type: Some("FARGATE".into()),
            circuit_breaker: Some(CircuitBreaker {
                enable: true,
                rollback: true,
            }),
            deployments: vec![Deployment {
                id: format!("ecs-svc/{}", state.next_deployment),
                status: "PRIMARY".into(),
                task_definition: task_definition.into(),
                desired_count: desired,
                running_count: desired,
                rollout_state: Some(RolloutState::Completed),
                ..Deployment::default()
            }],
            events: vec![ServiceEvent {
                created_at: None,
                message: format!("(service {name}) has reached a steady state."),
            }],
            ..Service::default()
        };
        state.services.push((cluster.into(), service));
    }

    pub(crate) fn script(&self, service: &str, steps: Vec<Step>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .insert(service.into(), steps.into());
    }

    pub(crate) fn with_service<R>(&self, name: &str, f: impl FnOnce(&mut Service) -> R) -> R {
        let mut state = self.state.lock().unwrap();
        let service = state
            .services
            .iter_mut()
            .find(|(_, s)| s.name == name)
            .map(|(_, s)| s)
            .expect("service");
        f(service)
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub(crate) fn mutating_calls(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_mutating).collect()
    }

    pub(crate) fn count(&self, f: impl Fn(&Call) -> bool) -> usize {
        self.calls().iter().filter(|c| f(c)).count()
    }

    /// The revision of that ARN.
    pub(crate) fn revision(&self, arn: &str) -> TaskDefinition {
        self.state
            .lock()
            .unwrap()
            .definitions
            .iter()
            .find(|d| d.arn == arn)
            .cloned()
            .expect("revision")
    }

    pub(crate) fn active(&self, family: &str) -> Vec<i32> {
        let state = self.state.lock().unwrap();
        state
            .definitions
            .iter()
            .filter(|d| d.family == family && !state.inactive.contains(&d.arn))
            .map(|d| d.revision)
            .collect()
    }
}

fn apply(step: Step, service: &mut Service, next_id: &mut u32) {
    let desired = service.desired_count;
    let primary = service
        .deployments
        .iter()
        .position(|d| d.status == "PRIMARY");
    match step {
        Step::InProgress | Step::Stall => {}
        Step::Progress => {
            if let Some(p) = primary {
                let d = &mut service.deployments[p];
                d.running_count = (d.running_count + 1).min(desired);
            }
        }
        Step::Complete => {
            if let Some(p) = primary {
                let mut d = service.deployments[p].clone();
                d.rollout_state = Some(RolloutState::Completed);
                d.running_count = desired;
                service.deployments = vec![d];
                service.running_count = desired;
                service.events.insert(
                    0,
                    ServiceEvent {
                        created_at: None,
                        message: format!("(service {}) has reached a steady state.", service.name),
                    },
                );
            }
        }
        Step::Fail(reason) => {
            if let Some(p) = primary {
                service.deployments[p].rollout_state = Some(RolloutState::Failed);
                service.deployments[p].rollout_state_reason = Some(reason.into());
                service.events.insert(
                    0,
                    ServiceEvent {
                        created_at: None,
                        message: format!("(service {}) deployment failed: {reason}", service.name),
                    },
                );
            }
        }
        Step::Rollback | Step::StableOnOld => {
            let previous = service
                .deployments
                .iter()
                .find(|d| d.status == "ACTIVE")
                .cloned();
            if let Some(mut previous) = previous {
                if matches!(step, Step::Rollback) {
                    *next_id += 1;
                    previous.id = format!("ecs-svc/{next_id}");
                }
                previous.status = "PRIMARY".into();
                previous.rollout_state = Some(RolloutState::Completed);
                previous.running_count = desired;
                service.task_definition = Some(previous.task_definition.clone());
                service.deployments = vec![previous];
            }
        }
        Step::Supersede => {
            for d in &mut service.deployments {
                d.status = "ACTIVE".into();
            }
            *next_id += 1;
            let td =
                "arn:aws:ecs:us-east-1:123456789012:task-definition/someone-else:1".to_string();
            service.deployments.insert(
                0,
                Deployment {
                    id: format!("ecs-svc/{next_id}"),
                    status: "PRIMARY".into(),
                    task_definition: td.clone(),
                    desired_count: desired,
                    rollout_state: Some(RolloutState::InProgress),
                    ..Deployment::default()
                },
            );
            service.task_definition = Some(td);
        }
    }
}

fn find<'a>(state: &'a mut State, cluster: &str, name: &str) -> Option<&'a mut Service> {
    state
        .services
        .iter_mut()
        .find(|(c, s)| c == short_name(cluster) && s.name == short_name(name))
        .map(|(_, s)| s)
}

fn not_found(operation: &'static str, what: &str) -> EcsError {
    EcsError::new(
        operation,
        EcsErrorKind::Rejected,
        Some("ClientException"),
        format!("{what} not found"),
    )
}

impl Ecs for FakeEcs {
    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<DescribedServices, EcsError> {
        assert!(
            services.len() <= 10,
            "DescribeServices takes at most ten services"
        );
        let stalled = {
            let state = self.state.lock().unwrap();
            services.iter().any(|name| {
                state.updated.contains(short_name(name))
                    && matches!(
                        state
                            .scripts
                            .get(short_name(name))
                            .and_then(VecDeque::front),
                        Some(Step::Stall)
                    )
            })
        };
        if stalled {
            std::future::pending::<()>().await;
        }
        let mut state = self.state.lock().unwrap();
        state
            .calls
            .push(Call::DescribeServices(cluster.into(), services.to_vec()));
        let mut answer = DescribedServices::default();
        for name in services {
            let step = if state.updated.contains(short_name(name)) {
                state
                    .scripts
                    .get_mut(short_name(name))
                    .and_then(VecDeque::pop_front)
            } else {
                None
            };
            let mut next_id = state.next_deployment;
            match find(&mut state, cluster, name) {
                Some(service) => {
                    if let Some(step) = step {
                        apply(step, service, &mut next_id);
                    }
                    answer.services.push(service.clone());
                }
                None => answer
                    .missing
                    .push((format!("{ACCOUNT}:service/{name}"), "MISSING".into())),
            }
            state.next_deployment = next_id;
        }
        Ok(answer)
    }

    async fn list_clusters(&self) -> Result<Vec<String>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::ListClusters);
        let clusters: BTreeSet<String> = state
            .services
            .iter()
            .map(|(_, s)| s.cluster_arn.clone())
            .collect();
        Ok(clusters.into_iter().collect())
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::ListServices(cluster.into()));
        if !state.services.iter().any(|(c, _)| c == short_name(cluster)) {
            return Err(EcsError::new(
                "ListServices",
                EcsErrorKind::NotFound,
                Some("ClusterNotFoundException"),
                "Cluster not found.",
            ));
        }
        Ok(state
            .services
            .iter()
            .filter(|(c, _)| c == short_name(cluster))
            .map(|(_, s)| s.arn.clone())
            .collect())
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<TaskDefinition, EcsError> {
        let mut state = self.state.lock().unwrap();
        state
            .calls
            .push(Call::DescribeTaskDefinition(task_definition.into()));
        let found = match parse_revision(task_definition) {
            Some((family, revision)) => state
                .definitions
                .iter()
                .find(|d| d.family == family && d.revision == revision),
            None => state
                .definitions
                .iter()
                .filter(|d| d.family == task_definition && !state.inactive.contains(&d.arn))
                .max_by_key(|d| d.revision),
        };
        found
            .cloned()
            .ok_or_else(|| not_found("DescribeTaskDefinition", task_definition))
    }

    async fn register_task_definition(
        &self,
        base: &TaskDefinition,
        changes: &RevisionChanges,
    ) -> Result<TaskDefinition, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Register(base.family.clone()));
        let mut new = state
            .definitions
            .iter()
            .find(|d| d.arn == base.arn)
            .cloned()
            .ok_or_else(|| not_found("RegisterTaskDefinition", &base.arn))?;
        for r in &changes.images {
            let c = new
                .containers
                .iter_mut()
                .find(|c| c.name == r.container)
                .ok_or_else(|| not_found("RegisterTaskDefinition", &r.container))?;
            c.image = r.image.clone();
        }
        for r in &changes.environment {
            let c = new
                .containers
                .iter_mut()
                .find(|c| c.name == r.container)
                .ok_or_else(|| not_found("RegisterTaskDefinition", &r.container))?;
            match c.environment.iter_mut().find(|(n, _)| *n == r.name) {
                Some(entry) => entry.1 = r.value.clone(),
                None => c.environment.push((r.name.clone(), r.value.clone())),
            }
        }
        new.revision = state
            .definitions
            .iter()
            .filter(|d| d.family == base.family)
            .map(|d| d.revision)
            .max()
            .unwrap_or(0)
            + 1;
        new.arn = arn(&new.family, new.revision);
        state.definitions.push(new.clone());
        Ok(new)
    }

    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Update(update.clone()));
        state
            .updated
            .insert(short_name(&update.service).to_string());
        let moto = state.moto_updates;
        state.next_deployment += 1;
        let id = format!("ecs-svc/{}", state.next_deployment);
        let service = find(&mut state, &update.cluster, &update.service)
            .ok_or_else(|| not_found("UpdateService", &update.service))?;
        let td = update
            .task_definition
            .clone()
            .or(service.task_definition.clone())
            .unwrap_or_default();
        service.task_definition = Some(td.clone());
        if !moto {
            for d in &mut service.deployments {
                d.status = "ACTIVE".into();
            }
            service.deployments.insert(
                0,
                Deployment {
                    id,
                    status: "PRIMARY".into(),
                    task_definition: td,
                    desired_count: service.desired_count,
                    rollout_state: Some(RolloutState::InProgress),
                    ..Deployment::default()
                },
            );
        }
        Ok(service.clone())
    }

    async fn list_task_definitions(&self, family: &str) -> Result<Vec<String>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::ListTaskDefinitions(family.into()));
        // Like ECS, a prefix match.
        Ok(state
            .definitions
            .iter()
            .filter(|d| d.family.starts_with(family) && !state.inactive.contains(&d.arn))
            .map(|d| d.arn.clone())
            .collect())
    }

    async fn deregister_task_definition(&self, arn: &str) -> Result<(), EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Deregister(arn.into()));
        state.inactive.insert(arn.into());
        Ok(())
    }

    async fn running_task_definitions(&self, cluster: &str) -> Result<Vec<String>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::RunningTasks(cluster.into()));
        Ok(state
            .running
            .get(short_name(cluster))
            .cloned()
            .unwrap_or_default())
    }

    async fn service_deployments(
        &self,
        _cluster: &str,
        service: &str,
        _limit: usize,
    ) -> Result<Vec<ServiceDeployment>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state
            .calls
            .push(Call::ServiceDeployments(short_name(service).into()));
        match &mut state.service_deployments {
            None => Err(EcsError::new(
                "ListServiceDeployments",
                EcsErrorKind::Unreachable,
                None,
                "HTTP 500",
            )),
            Some(by_service) => Ok(by_service
                .get_mut(short_name(service))
                .and_then(|answers| {
                    if answers.len() > 1 {
                        answers.pop_front()
                    } else {
                        answers.front().cloned()
                    }
                })
                .unwrap_or_default()),
        }
    }

    async fn stopped_tasks(
        &self,
        _cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<StoppedTask>, EcsError> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::StoppedTasks(service.into()));
        Ok(state
            .stopped
            .get(short_name(service))
            .map(|t| t.iter().take(limit).cloned().collect())
            .unwrap_or_default())
    }
}
