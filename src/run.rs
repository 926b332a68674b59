//! A run: fetch → health → merge → plan → guard → (apply) → state and job result.
//!
//! This is where I/O and the pure pipeline meet: sources are fetched concurrently, each
//! read is checked for health against its last good read, delta reads are merged into
//! the last good read, the population is merged, and each directory's live entries are
//! read and planned. `hrsync plan`, `apply`, `run` and (later) the daemon all go
//! through [`Run`], so they see the same data the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use rustc_hash::FxHashMap;
use tracing::{info, warn};

use crate::apply::{self, Applied, error_chain};
use crate::config::files::RepoFiles;
use crate::config::{Config, DirectoryConfig, Mode, Secret, SourceConfig};
use crate::digest::ContentHash;
use crate::directory::{self, Directory, DirectoryError};
use crate::model::PlanId;
use crate::model::SourceId;
use crate::model::{Record, SkippedRecord};
use crate::plan::guard::GuardError;
use crate::plan::pii::Pii;
use crate::plan::{self, Plan, PlanInput, SourceHealth, SourceStatus};
use crate::report::{Bucket, DirectoryResult, Fetched, JobResult, JobStatus, SourceResult, Sources};
use crate::source::{self, Completeness, Fetch, FetchRequest};
use crate::state::{Approval, RunState, Snapshot, StateError, StateStore};
use crate::transform::merge::{self, Population, SourceRecords};

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// `--source` names no source.
    #[error("there is no source `{0}`")]
    UnknownSource(String),
    /// `--directory` names no directory.
    #[error("there is no directory `{0}`")]
    UnknownDirectory(String),
}

/// How one source took part in a run.
#[derive(Clone, Debug)]
pub struct SourceRun {
    /// The source.
    pub id: SourceId,
    /// What happened.
    pub outcome: SourceOutcome,
    /// Its health, as the plan sees it.
    pub health: SourceHealth,
    /// The records taking part in the plan (fresh, merged delta, or last good read).
    pub records: Option<Arc<Snapshot>>,
    /// Rows skipped in this read.
    pub skipped: Vec<SkippedRecord>,
    /// Counts of the records fetched in this run.
    pub fetched: Option<Fetched>,
}

/// What happened to a source in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Read, and healthy.
    Read,
    /// Read, and unhealthy or failed.
    Failed(String),
    /// The source asked to skip this run.
    Skipped(String),
    /// Disabled in its config.
    Disabled,
    /// Not selected with `--source`.
    NotSelected,
}

/// Everything the sources gave, ready to plan.
#[derive(Clone, Debug)]
pub struct Gathered {
    /// Per source, in id order.
    pub sources: Vec<SourceRun>,
    /// Everyone, merged.
    pub population: Population,
    /// A hash of the records the population was merged from.
    pub inputs_hash: String,
}

impl Gathered {
    /// Each source's part, as plans see it.
    pub fn statuses(&self) -> Vec<SourceStatus> {
        self.sources
            .iter()
            .map(|s| SourceStatus {
                id: s.id.clone(),
                health: s.health.clone(),
                people: s.records.as_ref().map_or(0, |r| r.people.len()),
            })
            .collect()
    }
}

/// A directory's plan, with the directory it was made for.
pub struct DirectoryPlan<'a> {
    /// The directory's config.
    pub config: &'a DirectoryConfig,
    /// The directory.
    pub directory: Box<dyn Directory>,
    /// The plan, or why it could not be made.
    pub plan: Result<Plan, DirectoryError>,
}

/// How plans are made.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan ids approved on the command line (added to the repository's).
    pub approvals: BTreeSet<PlanId>,
    /// List the rows of entries that are up to date too.
    pub list_unchanged: bool,
}

/// What a job is asked to do.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// Only this source (others take part with their last good read).
    pub source: Option<String>,
    /// Read and plan, write nothing anywhere.
    pub dry_run: bool,
    /// Plan ids approved on the command line.
    pub approvals: BTreeSet<PlanId>,
    /// How people are named in the result's errors.
    pub pii: Pii,
}

/// A loaded sync repository, its state, and the run's clock.
pub struct Run {
    /// The config.
    pub config: Config,
    /// Its files (data files of file sources are read through them).
    pub files: Arc<dyn RepoFiles>,
    /// The state directory.
    pub store: StateStore,
    /// The run's clock: when the run started.
    pub now: Timestamp,
    /// Show progress bars on a terminal.
    pub progress: bool,
    /// The reports' `pii_key`, when one is set: it keys the leaver timers too
    /// ([`crate::state::TimerKeys`]), whatever `reports.pii` says.
    pub timer_secret: Option<Secret>,
}

impl Run {
    /// Fetches every enabled source (only `only`, if given; the others take part with
    /// their last good read), checks health and merges.
    pub async fn gather(&self, only: Option<&str>, state: &RunState) -> Result<Gathered, RunError> {
        if let Some(id) = only
            && self.config.source(id).is_none()
        {
            return Err(RunError::UnknownSource(id.to_owned()));
        }
        let fetches = self.config.sources.iter().map(|cfg| self.fetch_one(cfg, only, state));
        let sources: Vec<SourceRun> =
            futures::future::join_all(fetches).await.into_iter().collect::<Result<_, _>>()?;

        let records: Vec<(&SourceConfig, &Snapshot)> = sources
            .iter()
            .filter_map(|s| Some((self.config.source(s.id.as_str())?, s.records.as_deref()?)))
            .collect();
        let merge_input: Vec<SourceRecords<'_>> = records
            .iter()
            .map(|(cfg, snap)| SourceRecords {
                config: cfg,
                people: &snap.people,
                employments: &snap.employments,
                org_units: &snap.org_units,
            })
            .collect();
        let population = merge::merge(&merge_input, &self.config.filters);
        let inputs_hash = hash_inputs(&records);
        Ok(Gathered { sources, population, inputs_hash })
    }

    async fn fetch_one(
        &self,
        cfg: &SourceConfig,
        only: Option<&str>,
        state: &RunState,
    ) -> Result<SourceRun, RunError> {
        let id = cfg.id.clone();
        let mut run = SourceRun {
            id: id.clone(),
            outcome: SourceOutcome::Read,
            health: SourceHealth::Healthy,
            records: None,
            skipped: Vec::new(),
            fetched: None,
        };
        if !cfg.enabled {
            run.outcome = SourceOutcome::Disabled;
            run.health = SourceHealth::Disabled;
            return Ok(run);
        }
        let last_good = self.store.snapshot(&id)?.map(Arc::new);
        if only.is_some_and(|o| o != id.as_str()) {
            run.outcome = SourceOutcome::NotSelected;
            run.health = SourceHealth::Snapshot { reason: "not selected with --source".into() };
            run.records = last_good;
            return Ok(run);
        }
        let previous = state.sources.get(&id);
        // A delta is read only onto a last good read as of the watermark: a snapshot
        // left by another run (a state taken over from the reports branch, a restored
        // backup) means a full read.
        let watermark = previous.and_then(|p| p.last_sync_at);
        let since = match &last_good {
            Some(snapshot) if cfg.delta && watermark.is_some() && snapshot.as_of == watermark => watermark,
            _ => None,
        };
        let source = source::build(cfg, self.files.clone());
        let fetched = source.fetch(&FetchRequest { since }).await;
        match fetched {
            Err(e) => {
                let reason = error_chain(&e);
                warn!(source = %id, error = %reason, "source failed");
                run.outcome = SourceOutcome::Failed(reason.clone());
                run.health = SourceHealth::Unhealthy { reason };
                run.records = last_good;
            }
            Ok(Fetch::Skip { reason }) => {
                info!(source = %id, "source asked to skip this run");
                run.outcome = SourceOutcome::Skipped(reason.clone());
                run.health =
                    SourceHealth::Snapshot { reason: format!("the source asked to skip this run: {reason}") };
                run.records = last_good;
            }
            Ok(Fetch::Records(batch)) => {
                run.fetched = Some(Fetched {
                    employees: batch.people.len(),
                    employments: batch.employments.len(),
                    org_units: batch.org_units.len(),
                });
                run.skipped = batch.skipped;
                let delta = batch.completeness == Completeness::Delta;
                let fresh = Snapshot {
                    people: batch.people.into_iter().map(Arc::new).collect(),
                    employments: batch.employments,
                    org_units: batch.org_units,
                    as_of: None,
                };
                let records = match (delta, &last_good) {
                    (true, Some(base)) if since.is_some() => apply_delta(base, fresh),
                    (true, _) => {
                        // A delta with no base to merge it into would look like everyone
                        // else left: treat the source as unhealthy for this run.
                        let reason = "answered a full read with a delta; hrsync has no base to merge it into"
                            .to_owned();
                        warn!(source = %id, reason = %reason, "source unhealthy");
                        run.outcome = SourceOutcome::Failed(reason.clone());
                        run.health = SourceHealth::Unhealthy { reason };
                        run.records = last_good;
                        return Ok(run);
                    }
                    (false, _) => fresh,
                };
                let people = records.people.len();
                let last_count = previous.and_then(|p| p.last_good_people);
                let unhealthy = if let Some(why) = batch.incomplete {
                    Some(format!("the read may be incomplete: {why}"))
                } else if people == 0 {
                    Some(match last_count {
                        Some(n) => format!("returned no people (the last good read had {n})"),
                        None => "returned no people".to_owned(),
                    })
                } else {
                    let share = self.config.workspace.safety.min_source_share;
                    last_count.filter(|n| (people as f64) < share * (*n as f64)).map(|n| {
                        format!(
                            "returned {people} people, fewer than {:.0} % of the last good read ({n}); min_source_share is {share}",
                            share * 100.0
                        )
                    })
                };
                info!(source = %id, people, skipped = run.skipped.len(), "source read");
                match unhealthy {
                    Some(reason) => {
                        warn!(source = %id, reason = %reason, "source unhealthy");
                        run.outcome = SourceOutcome::Failed(reason.clone());
                        run.health = SourceHealth::Unhealthy { reason };
                        run.records = last_good;
                    }
                    None => {
                        run.health = if delta { SourceHealth::Delta } else { SourceHealth::Healthy };
                        run.records = Some(Arc::new(records));
                    }
                }
            }
        }
        Ok(run)
    }

    /// Reads a directory's live entries and plans it.
    pub async fn plan<'a>(
        &self,
        gathered: &Gathered,
        config: &'a DirectoryConfig,
        state: &RunState,
        options: &PlanOptions,
    ) -> DirectoryPlan<'a> {
        let directory = directory::build(config, self.store.dir());
        let plan = match directory::read_all(directory.as_ref()).await {
            Err(e) => Err(e),
            Ok(live) => {
                let timers = state.timers(&config.id, &live, self.timer_secret.as_ref());
                let statuses = gathered.statuses();
                let mut approved = self.config.workspace.approvals.clone();
                approved.extend(options.approvals.iter().cloned());
                let plan = plan::diff(&PlanInput {
                    config: &self.config,
                    directory: config,
                    population: &gathered.population,
                    inputs_hash: &gathered.inputs_hash,
                    sources: &statuses,
                    live: &live,
                    now: self.now,
                    timers: &timers,
                    approvals: &approved,
                    list_unchanged: options.list_unchanged,
                });
                let s = &plan.summary;
                info!(
                    directory = %config.id, plan = %plan.id, status = plan.status.as_str(),
                    creates = s.create, updates = s.update, disables = s.disable, deletes = s.delete, skips = s.skip,
                    "plan computed"
                );
                Ok(plan)
            }
        };
        DirectoryPlan { config, directory, plan }
    }

    /// Selects directories by id (all when `None`).
    pub fn directories(&self, only: Option<&str>) -> Result<Vec<&DirectoryConfig>, RunError> {
        match only {
            None => Ok(self.config.directories.iter().collect()),
            Some(id) => self
                .config
                .directory(id)
                .map(|d| vec![d])
                .ok_or_else(|| RunError::UnknownDirectory(id.to_owned())),
        }
    }

    /// Applies a plan and records it as the directory's last applied plan. The plan's
    /// leaver timers are recorded apart ([`RunState::record_timers`]), for any plan
    /// made, applied or not.
    pub async fn apply(
        &self,
        plan: &Plan,
        directory: &dyn Directory,
        state: &mut RunState,
    ) -> Result<Applied, GuardError> {
        // A progress bar on a terminal for plans that write more than a handful of items.
        let writes = plan.rows.iter().filter(|r| r.action.writes()).count() as u64;
        let bar = (self.progress && writes > 20 && std::io::stderr().is_terminal()).then(|| {
            let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::new(writes).with_style(style).with_message(format!("applying to {}", plan.directory))
        });
        let applied = apply::apply(plan, directory, &|done| {
            if let Some(bar) = &bar {
                bar.set_position(done as u64);
            }
        })
        .await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let applied = applied?;
        let dir_state = state.directories.entry(plan.directory.clone()).or_default();
        dir_state.last_applied_plan = Some(plan.id.clone());
        dir_state.last_applied_at = Some(self.now);
        if plan.approved {
            let by = if self.config.workspace.approvals.contains(&plan.id) {
                "repository"
            } else {
                "command line"
            };
            dir_state.last_approval =
                Some(Approval { plan: plan.id.clone(), by: by.to_owned(), applied_at: self.now });
        }
        dir_state.last_error = None;
        info!(
            directory = %plan.directory, created = applied.created, updated = applied.updated,
            disabled = applied.disabled, deleted = applied.deleted, failed = applied.failed, "plan applied"
        );
        Ok(applied)
    }

    /// The main job: fetch, plan every directory, apply those in mode `apply`, record
    /// state, and report.
    pub async fn job(&self, options: &JobOptions) -> Result<JobResult, RunError> {
        self.job_with(options, &mut |_, _| Ok(())).await
    }

    /// [`Run::job`], calling `on_plan` with each directory's plan before it is applied
    /// (the daemon commits it there). When `on_plan` fails, that directory is not
    /// applied and fails with its reason.
    pub async fn job_with(
        &self,
        options: &JobOptions,
        on_plan: &mut (dyn FnMut(&DirectoryConfig, &Plan) -> Result<(), String> + Send),
    ) -> Result<JobResult, RunError> {
        let mut state = self.store.load()?;
        let previous = state.clone();
        let gathered = self.gather(options.source.as_deref(), &state).await?;

        let mut directories = BTreeMap::new();
        for config in &self.config.directories {
            if config.mode == Mode::Off {
                directories.insert(config.id.clone(), DirectoryResult::skipped(Mode::Off, "mode is off"));
                continue;
            }
            let plan_options = PlanOptions { approvals: options.approvals.clone(), list_unchanged: false };
            let planned = self.plan(&gathered, config, &previous, &plan_options).await;
            let result = match planned.plan {
                Err(e) => {
                    let reason = error_chain(&e);
                    if !options.dry_run {
                        state.directories.entry(config.id.clone()).or_default().last_error =
                            Some(reason.clone());
                    }
                    DirectoryResult::failed(config.mode, reason)
                }
                Ok(plan) => {
                    if !options.dry_run {
                        // A leaver is seen from the first plan that sees them, applied,
                        // blocked or simulated: the grace period counts from there.
                        state.record_timers(&config.id, &plan.timers, self.timer_secret.as_ref())?;
                        state.directories.entry(config.id.clone()).or_default().last_error = None;
                    }
                    match on_plan(config, &plan) {
                        Err(reason) => DirectoryResult::failed(
                            config.mode,
                            format!("the plan could not be recorded: {reason}"),
                        ),
                        Ok(()) => {
                            let write = config.mode == Mode::Apply && !options.dry_run;
                            let applied = if write {
                                Some(self.apply(&plan, planned.directory.as_ref(), &mut state).await)
                            } else {
                                None
                            };
                            if let Some(Err(e)) = &applied {
                                state.directories.entry(config.id.clone()).or_default().last_error =
                                    Some(error_chain(e));
                            }
                            directory_result(config.mode, &plan, applied, &options.pii)
                        }
                    }
                }
            };
            directories.insert(config.id.clone(), result);
        }

        let mut results = BTreeMap::new();
        for s in &gathered.sources {
            let result = self.source_result(s, &previous, &mut state, options.dry_run)?;
            results.insert(s.id.clone(), result);
        }
        if !options.dry_run {
            self.store.save(&state)?;
        }

        let worst = results
            .values()
            .filter_map(|r| r.status)
            .chain(directories.values().map(|d| d.status))
            .max()
            .unwrap_or(JobStatus::Completed);
        let sources = match &options.source {
            Some(id) => {
                let id = SourceId::new(id).map_err(|_| RunError::UnknownSource(id.clone()))?;
                let mut result = results.remove(&id).unwrap_or_default();
                result.status = None;
                Sources::One { source: id, result: Box::new(result) }
            }
            None => Sources::All { sources: results },
        };
        Ok(JobResult { status: worst, dry_run: options.dry_run, started_at: self.now, sources, directories })
    }

    fn source_result(
        &self,
        s: &SourceRun,
        previous: &RunState,
        state: &mut RunState,
        dry_run: bool,
    ) -> Result<SourceResult, RunError> {
        let mut result = SourceResult::default();
        let last_sync = previous.sources.get(&s.id).and_then(|p| p.last_sync_at);
        match &s.outcome {
            SourceOutcome::Disabled => {
                return Ok(SourceResult {
                    status: Some(JobStatus::Completed),
                    skipped: true,
                    reason: Some("disabled".into()),
                    last_sync_at: last_sync,
                    ..SourceResult::default()
                });
            }
            SourceOutcome::NotSelected => {
                return Ok(SourceResult {
                    status: Some(JobStatus::Completed),
                    skipped: true,
                    reason: Some("not selected".into()),
                    last_sync_at: last_sync,
                    ..SourceResult::default()
                });
            }
            SourceOutcome::Skipped(reason) => {
                return Ok(SourceResult {
                    status: Some(JobStatus::Completed),
                    skipped: true,
                    reason: Some(reason.clone()),
                    last_sync_at: last_sync,
                    ..SourceResult::default()
                });
            }
            SourceOutcome::Failed(reason) => {
                result.status = Some(JobStatus::Failed);
                result.errors.push(reason.clone());
                result.last_sync_at = last_sync;
                if !dry_run {
                    let entry = state.sources.entry(s.id.clone()).or_default();
                    entry.last_error = Some(reason.clone());
                    entry.last_error_at = Some(self.now);
                }
            }
            SourceOutcome::Read => {
                let old = self.store.snapshot(&s.id)?;
                let new = s.records.as_deref().cloned().unwrap_or_default();
                let old = old.as_ref();
                result.employees =
                    Some(changes(old.map(|o| &o.people[..]), &new.people, &s.skipped, |h, p| {
                        h.person_fields(p)
                    }));
                result.employments = Some(changes(
                    old.map(|o| &o.employments[..]),
                    &new.employments,
                    &s.skipped,
                    ContentHash::employment,
                ));
                result.org_units = Some(changes(
                    old.map(|o| &o.org_units[..]),
                    &new.org_units,
                    &s.skipped,
                    ContentHash::org_unit,
                ));
                result.skipped_records = s.skipped.clone();
                result.status =
                    Some(if s.skipped.is_empty() { JobStatus::Completed } else { JobStatus::Warning });
                if dry_run {
                    result.fetched = s.fetched;
                    result.last_sync_at = last_sync;
                } else {
                    let people = new.people.len();
                    self.store.save_snapshot(&s.id, &Snapshot { as_of: Some(self.now), ..new })?;
                    let entry = state.sources.entry(s.id.clone()).or_default();
                    entry.last_sync_at = Some(self.now);
                    entry.last_good_people = Some(people);
                    entry.last_error = None;
                    entry.last_error_at = None;
                    result.last_sync_at = Some(self.now);
                }
            }
        }
        Ok(result)
    }
}

fn directory_result(
    mode: Mode,
    plan: &Plan,
    applied: Option<Result<Applied, GuardError>>,
    pii: &Pii,
) -> DirectoryResult {
    let s = &plan.summary;
    let mut result = DirectoryResult {
        status: JobStatus::Completed,
        mode,
        skipped: false,
        reason: None,
        plan: Some(plan.id.clone()),
        plan_status: Some(plan.status),
        applied: false,
        created: s.create,
        updated: s.update,
        disabled: s.disable,
        deleted: s.delete,
        skipped_rows: s.skip,
        failed: 0,
        errors: Vec::new(),
    };
    match applied {
        None => {
            if mode == Mode::Plan {
                result.reason = Some("mode is plan: nothing is written".into());
            }
        }
        Some(Err(e)) => {
            result.status = JobStatus::Failed;
            result.reason = Some(e.to_string());
        }
        Some(Ok(a)) => {
            result.applied = true;
            result.created = a.created;
            result.updated = a.updated;
            result.disabled = a.disabled;
            result.deleted = a.deleted;
            result.failed = a.failed;
            result.errors = a.items.iter().filter_map(|i| describe_failure(i, pii)).collect();
        }
    }
    if matches!(plan.status, plan::PlanStatus::Blocked | plan::PlanStatus::Failed) {
        result.status = JobStatus::Failed;
        result.reason.get_or_insert_with(|| plan.blocked_by.join("; "));
    } else if result.status == JobStatus::Completed && (result.failed > 0 || result.skipped_rows > 0) {
        result.status = JobStatus::Warning;
    }
    result
}

/// A failed item in words, with person and entry shown as `pii` says; `None` for an
/// item that worked.
pub fn describe_failure(item: &apply::ItemOutcome, pii: &Pii) -> Option<String> {
    let reason = match &item.status {
        apply::ItemStatus::Done => return None,
        apply::ItemStatus::Failed(r) | apply::ItemStatus::NotAttempted(r) => r,
    };
    let who = match (&item.person, &item.entry) {
        (Some(key), _) => pii.key(key),
        (None, Some(entry)) => pii.id(entry),
        (None, None) => "?".to_owned(),
    };
    // Directory errors name the entry, and an entry id is personal data.
    let reason = match &item.entry {
        Some(entry) if !matches!(pii, Pii::Full) => reason.replace(entry.as_str(), &pii.id(entry)),
        _ => reason.clone(),
    };
    Some(format!("{} {who}: {reason}", item.action.as_str()))
}

/// Created/updated/skipped counts of one bucket against the last good read. Records
/// are compared by content, not by where they were read.
fn changes<T: Record>(
    old: Option<&[T]>,
    new: &[T],
    skipped: &[SkippedRecord],
    content: impl Fn(&mut ContentHash, &T),
) -> Bucket {
    let hash = |r: &T| {
        let mut h = ContentHash::new();
        content(&mut h, r);
        h.finish_hex()
    };
    let old: FxHashMap<&str, String> =
        old.unwrap_or_default().iter().map(|r| (r.record_id(), hash(r))).collect();
    let mut bucket =
        Bucket { skipped: skipped.iter().filter(|s| s.kind == T::KIND).count(), ..Bucket::default() };
    for r in new {
        match old.get(r.record_id()) {
            None => bucket.created += 1,
            Some(before) if *before != hash(r) => bucket.updated += 1,
            Some(_) => {}
        }
    }
    bucket
}

/// A delta read merged into the last good read: records replace those of the same id.
fn apply_delta(base: &Snapshot, delta: Snapshot) -> Snapshot {
    fn merge<T: Clone>(base: &[T], delta: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        let changed: BTreeSet<String> = delta.iter().map(|r| id(r).to_owned()).collect();
        let mut out: Vec<T> = base.iter().filter(|r| !changed.contains(id(r))).cloned().collect();
        out.extend(delta);
        out
    }
    Snapshot {
        people: merge(&base.people, delta.people, |p| &p.id),
        employments: merge(&base.employments, delta.employments, |e| &e.id),
        org_units: merge(&base.org_units, delta.org_units, |u| &u.id),
        as_of: None,
    }
}

/// A hash of the records taking part, by source: part of every plan's id.
pub fn hash_inputs(records: &[(&SourceConfig, &Snapshot)]) -> String {
    let mut h = ContentHash::new();
    for (cfg, snapshot) in records {
        h.text(cfg.id.as_str());
        h.items(&snapshot.people, |h, p| h.person(p));
        h.bytes(&(snapshot.employments.len() as u64).to_le_bytes());
        snapshot.employments.iter().for_each(|e| h.employment(e));
        h.bytes(&(snapshot.org_units.len() as u64).to_le_bytes());
        snapshot.org_units.iter().for_each(|u| h.org_unit(u));
    }
    h.finish_hex()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, RecordKind};

    #[test]
    fn deltas_replace_records_by_id() {
        let base = Snapshot {
            people: vec![Arc::new(Person::test("E1")), Arc::new(Person::test("E2").title("A"))],
            ..Default::default()
        };
        let delta = Snapshot {
            people: vec![Arc::new(Person::test("E2").title("B")), Arc::new(Person::test("E3"))],
            ..Default::default()
        };
        let merged = apply_delta(&base, delta);
        let ids: Vec<&str> = merged.people.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["E1", "E2", "E3"]);
        assert_eq!(merged.people[1].job_title.as_deref(), Some("B"));
    }

    #[test]
    fn buckets_count_against_the_last_good_read() {
        let content = |h: &mut ContentHash, p: &Person| h.person_fields(p);
        let old = [Person::test("E1"), Person::test("E2")];
        // E1 moved to another line only: not a change.
        let mut moved = Person::test("E1");
        moved.location.line = 40;
        let new = [moved, Person::test("E2").title("X"), Person::test("E3")];
        let skipped = [
            SkippedRecord { kind: RecordKind::Employee, location: Default::default(), reason: "x".into() },
            SkippedRecord { kind: RecordKind::OrgUnit, location: Default::default(), reason: "y".into() },
        ];
        assert_eq!(
            changes(Some(&old), &new, &skipped, content),
            Bucket { created: 1, updated: 1, skipped: 1 }
        );
        assert_eq!(changes(None, &new, &[], content), Bucket { created: 3, updated: 0, skipped: 0 });
    }
}
