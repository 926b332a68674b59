//! A run: fetch → health → merge → plan → guard → (apply) → state and job result.
//!
//! This is where I/O and the pure pipeline meet: sources are fetched concurrently, each
//! read is checked for health against its last good read, delta reads are merged into
//! the last good read, the population is merged, and each directory's live entries are
//! read and planned. `hrsync plan`, `apply`, `run` and the daemon all go
//! through [`Run`], so they see the same data the same way.

mod fetch;
pub mod open;
pub mod outcomes;
mod progress;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use tracing::{info, warn};

pub use fetch::{hash_inputs, share_people};
pub use open::{OpenError, load_config, show_diagnostics};
pub use progress::ShowProgress;
use progress::{Progress, Step};

use crate::apply::{self, Applied};
use crate::config::files::RepoFiles;
use crate::config::{Config, DirectoryConfig, Mode, Secret, SourceConfig};
use crate::directory::{self, Directory, DirectoryError};
use crate::model::{PlanId, SkippedRecord, SourceId, error_chain};
use crate::plan::guard::GuardError;
use crate::plan::pii::Pii;
use crate::plan::{self, Plan, PlanInput, SourceHealth, SourceStatus};
use crate::report::{DirectoryResult, Fetched, JobResult, JobStatus, SourceResult, Sources};
use crate::state::{ApprovedBy, RunState, Snapshot, StateError, StateStore};
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

impl RunError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            RunError::State(_) => "state",
            RunError::UnknownSource(_) => "unknown_source",
            RunError::UnknownDirectory(_) => "unknown_directory",
        }
    }
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
    /// Whether this run read the source in full (not a delta).
    pub full: bool,
    /// The vendor's delta position to go on from next time.
    pub cursor: Option<String>,
}

/// What happened to a source in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Read, and healthy.
    Read,
    /// Read, and unhealthy or failed.
    Failed(String),
    /// Read in full but shrunk below `min_source_share`: planned with, and taken as the
    /// last good read only once an approved plan made from it is applied.
    Shrunk(String),
    /// The source asked to skip this run.
    Skipped(String),
    /// Disabled in its config.
    Disabled,
    /// Not selected with `--source`.
    NotSelected,
}

/// Which sources a run reads; the others take part with their last good read.
#[derive(Clone, Copy, Debug)]
enum Select<'a> {
    /// Every enabled source.
    All,
    /// Only this one (`--source`).
    Only(&'a str),
    /// None (`--offline`).
    None,
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

/// Puts what the directory's read found that writes will trip over (a `move_to`
/// container that does not exist) on the rows it concerns, as warnings the review sees.
fn show_read_warnings(plan: &mut Plan, warnings: &[crate::directory::ReadWarning]) {
    use crate::directory::Affects;
    for w in warnings {
        for row in plan.rows.iter_mut() {
            let concerned = match w.affects {
                Affects::Disables => row.action == plan::Action::Disable,
            };
            if concerned {
                if row.warnings.is_empty() {
                    plan.summary.warnings += 1;
                }
                row.warnings.push(w.message.clone());
            }
        }
    }
}

impl SourceRun {
    /// The skipped rows a plan takes into account: this read's, and those of the last
    /// good read that stands in for it (whose people it would otherwise not hold).
    pub fn skipped_in_plan(&self) -> Vec<SkippedRecord> {
        let mut out = self.skipped.clone();
        for row in self.records.iter().flat_map(|r| &r.skipped) {
            let r = &row.record;
            if !out.iter().any(|o| o.kind == r.kind && o.location == r.location && o.reason == r.reason) {
                out.push(row.restore());
            }
        }
        out
    }
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
                skipped: s.skipped_in_plan(),
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
    /// The entries read, when [`PlanOptions::keep_live`] asked for them (else empty).
    pub live: Vec<crate::directory::Entry>,
}

/// How plans are made.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan ids approved on the command line (added to the repository's).
    pub approvals: BTreeSet<PlanId>,
    /// List the rows of entries that are up to date too.
    pub list_unchanged: bool,
    /// Keep the entries read in [`DirectoryPlan::live`] (`hrsync explain` shows them).
    pub keep_live: bool,
    /// List the up-to-date rows of these people (person keys, sorted) too.
    pub list_people: Vec<String>,
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
    /// How the long steps show their progress.
    pub progress: ShowProgress,
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
        self.gather_from(only.map_or(Select::All, Select::Only), state).await
    }

    /// Merges every enabled source's last good read, reading none (`hrsync explain
    /// --offline`): a source without one takes part with no records.
    pub async fn gather_last_good(&self, state: &RunState) -> Result<Gathered, RunError> {
        self.gather_from(Select::None, state).await
    }

    async fn gather_from(&self, only: Select<'_>, state: &RunState) -> Result<Gathered, RunError> {
        let fetches = self.config.sources.iter().map(|cfg| async move {
            let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let step = Step::Source(cfg.id.as_str(), &counter);
            progress::watch(self.progress, step, self.fetch_one(cfg, only, state, counter.clone())).await
        });
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
                withheld: &snap.withheld,
            })
            .collect();
        let population = merge::merge(&merge_input, &self.config.filters);
        // An override that names nobody is most often a mistyped key.
        let today = self.now.to_zoned(self.config.workspace.timezone.clone()).date();
        for o in crate::plan::overrides_naming_nobody(&self.config.overrides, &population.people, today) {
            tracing::warn!(place = %o.place(), field = %o.field, "the override names nobody the sources hold");
        }
        let inputs_hash = hash_inputs(&records);
        Ok(Gathered { sources, population, inputs_hash })
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
        let read_all = directory::read_all(directory.as_ref());
        let read = match progress::watch(self.progress, Step::Directory(config.id.as_str()), read_all).await {
            Ok(live) => match directory.held_elsewhere().await {
                Ok(elsewhere) => Ok((live, elsewhere)),
                // A service account that may not read the whole domain still syncs the
                // scope: values taken outside it are then refused at write time instead.
                Err(e) if !matches!(e, crate::directory::DirectoryError::Unavailable { .. }) => {
                    warn!(directory = %config.id, kind = e.label(), "cannot read the unique values held outside the scope; only the scope's are checked");
                    Ok((live, Default::default()))
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let mut groups_not_read: Option<String> = None;
        // Groups are read only where groups are kept, after the entries. Groups that
        // cannot be read (a service account without the right, which a directory may
        // answer as it answers an outage) hold back no one's account: the plan has no
        // group rows, and nothing is written to groups.
        let read = match read {
            Ok((live, elsewhere)) if config.groups.is_some() => match directory.read_groups().await {
                Ok(groups) => Ok((live, elsewhere, Some(groups))),
                Err(e) => {
                    let said = crate::plan::pii::Pii::Masked(None).message(&error_chain(&e), None);
                    warn!(directory = %config.id, kind = e.label(), error = %said, "cannot read the directory's groups: this plan leaves groups alone");
                    groups_not_read = Some(said);
                    Ok((live, elsewhere, None))
                }
            },
            Ok((live, elsewhere)) => Ok((live, elsewhere, None)),
            Err(e) => Err(e),
        };
        let mut kept = Vec::new();
        let plan = match read {
            Err(e) => Err(e),
            Ok((live, held_elsewhere, groups)) => {
                let org_units: Vec<crate::model::OrgUnit> = if groups.is_some() {
                    gathered
                        .sources
                        .iter()
                        .filter_map(|s| s.records.as_deref())
                        .flat_map(|snap| snap.org_units.iter().cloned())
                        .collect()
                } else {
                    Vec::new()
                };
                let timers = state.timers(&config.id, &live, self.timer_secret.as_ref());
                let statuses = gathered.statuses();
                let mut approved = self.config.workspace.approvals.clone();
                approved.extend(options.approvals.iter().cloned());
                let mut plan = plan::diff(&PlanInput {
                    config: &self.config,
                    directory: config,
                    population: &gathered.population,
                    inputs_hash: &gathered.inputs_hash,
                    sources: &statuses,
                    live: &live,
                    groups: groups.as_deref(),
                    org_units: &org_units,
                    held_elsewhere: &held_elsewhere,
                    now: self.now,
                    timers: &timers,
                    approvals: &approved,
                    list_unchanged: options.list_unchanged,
                    list_people: &options.list_people,
                });
                show_read_warnings(&mut plan, &directory.read_warnings());
                if let Some(reason) = groups_not_read {
                    plan.groups = Some(plan::GroupPlan {
                        max_member_removal_percent: config.safety.max_group_member_removal_percent,
                        member_removals_allowed: config.safety.group_member_removals_allowed,
                        max_delete_percent: config.safety.max_group_delete_percent,
                        not_read: Some(reason),
                        members_personal: true,
                        ..Default::default()
                    });
                }
                // Who approved what is in git: the commit that added the allowance.
                if let Some(plan::ApprovedBy::Allowance { index, commit, .. }) = &mut plan.approved_by
                    && let Some(a) = self.config.workspace.allowances.iter().find(|a| a.index == *index)
                {
                    *commit = self.files.commit_of_line(crate::config::WORKSPACE_FILE, a.line);
                }
                match (&plan.status, &plan.approved_by) {
                    (plan::PlanStatus::Blocked, _) => warn!(
                        directory = %config.id, plan = %plan.id, reasons = %plan.blocked_by.join("; "),
                        "plan blocked by the safety limits: nothing is applied; if the changes are intended, add this plan id to `approvals` in hrsync.yaml, or an allowance, through a reviewed commit"
                    ),
                    (_, Some(by)) => {
                        info!(directory = %config.id, plan = %plan.id, approved = %by.describe(), "plan beyond the safety limits approved")
                    }
                    _ => {}
                }
                if options.keep_live {
                    kept = live;
                }
                let s = &plan.summary;
                info!(
                    directory = %config.id, plan = %plan.id, status = plan.status.as_str(),
                    creates = s.create, updates = s.update, disables = s.disable, deletes = s.delete, skips = s.skip,
                    "plan computed"
                );
                Ok(plan)
            }
        };
        DirectoryPlan { config, directory, plan, live: kept }
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
        let writes = plan.rows.iter().filter(|r| r.action.writes()).count() as u64;
        let progress = Progress::new(self.progress, writes, plan.directory.as_str());
        let applied = apply::apply(plan, directory, &|done| progress.set(done)).await;
        progress.finish();
        let applied = applied?;
        let approved = plan.approved.then(|| {
            if self.config.workspace.approvals.contains(&plan.id) {
                ApprovedBy::Repository
            } else {
                ApprovedBy::CommandLine
            }
        });
        state.record_applied(&plan.directory, &plan.id, approved, self.now);
        // What `hrsync explain` tells of the people whose writes did not simply work.
        let last = outcomes::LastApply::of(&plan.id, self.now, &applied);
        if let Err(e) = outcomes::record(&self.store, &plan.directory, last) {
            warn!(directory = %plan.directory, error = %error_chain(&e), "cannot record the outcomes of this apply for `hrsync explain`");
        }
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
            let plan_options = PlanOptions { approvals: options.approvals.clone(), ..PlanOptions::default() };
            let planned = self.plan(&gathered, config, &previous, &plan_options).await;
            let result = match planned.plan {
                Err(e) => {
                    let reason = error_chain(&e);
                    if !options.dry_run {
                        state.record_directory_error(&config.id, Some(reason.clone()));
                    }
                    DirectoryResult::failed(config.mode, reason)
                }
                Ok(plan) => {
                    if !options.dry_run {
                        // A leaver is seen from the first plan that sees them, applied,
                        // blocked or simulated: the grace period counts from there.
                        state.record_timers(&config.id, &plan.timers, self.timer_secret.as_ref())?;
                        state.record_directory_error(&config.id, None);
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
                                state.record_directory_error(&config.id, Some(error_chain(e)));
                            }
                            DirectoryResult::of_plan(config.mode, &plan, applied.as_ref(), &options.pii)
                        }
                    }
                }
            };
            directories.insert(config.id.clone(), result);
        }

        // The reads become the sources' last good reads only once every directory that
        // writes has applied the plan made from them: a blocked or failed plan leaves
        // the last good read (and the watermark) where it was.
        let accepted =
            !options.dry_run && directories.values().all(|d| d.mode != Mode::Apply || d.skipped || d.applied);
        let mut results = self.record_sources(&gathered, &previous, &mut state, accepted, options.dry_run)?;
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

    /// The job results of the sources of `gathered`. With `accepted` (every directory
    /// that writes applied the plan made from these reads), a good read becomes the
    /// source's last good read and watermark; unless `dry_run`, a failure becomes its
    /// last error.
    pub fn record_sources(
        &self,
        gathered: &Gathered,
        previous: &RunState,
        state: &mut RunState,
        accepted: bool,
        dry_run: bool,
    ) -> Result<BTreeMap<SourceId, SourceResult>, RunError> {
        let mut results = BTreeMap::new();
        for s in &gathered.sources {
            let mut result = self.record_source(s, previous, state, accepted, dry_run)?;
            if let Some(fetched) = s.fetched {
                result.legal_entities = fetched.legal_entities;
                result.work_locations = fetched.work_locations;
            }
            if matches!(s.outcome, SourceOutcome::Read | SourceOutcome::Shrunk(_))
                && let Some(records) = &s.records
            {
                result.warnings = records
                    .withheld
                    .iter()
                    .map(|w| {
                        format!(
                            "no record carried `{}` (key `{}`): directories keep what they hold for it; {}",
                            w.field, w.key, w.grant
                        )
                    })
                    .collect();
            }
            results.insert(s.id.clone(), result);
        }
        Ok(results)
    }

    fn record_source(
        &self,
        s: &SourceRun,
        previous: &RunState,
        state: &mut RunState,
        accepted: bool,
        dry_run: bool,
    ) -> Result<SourceResult, RunError> {
        let last_sync = previous.sources.get(&s.id).and_then(|p| p.last_sync_at);
        Ok(match &s.outcome {
            SourceOutcome::Disabled => SourceResult::not_read("disabled", last_sync),
            SourceOutcome::NotSelected => SourceResult::not_read("not selected", last_sync),
            SourceOutcome::Skipped(reason) => SourceResult::not_read(reason.clone(), last_sync),
            SourceOutcome::Failed(reason) => {
                if !dry_run {
                    state.record_source_error(&s.id, reason.clone(), self.now);
                }
                SourceResult::failed(reason.clone(), last_sync)
            }
            SourceOutcome::Shrunk(reason) if dry_run || !accepted => {
                if !dry_run {
                    state.record_source_error(&s.id, reason.clone(), self.now);
                }
                SourceResult::failed(reason.clone(), last_sync)
            }
            SourceOutcome::Read | SourceOutcome::Shrunk(_) => {
                let old = self.store.snapshot(&s.id)?;
                let new = s.records.as_deref().cloned().unwrap_or_default();
                // A shrunk read needs its plan approved and applied first (`accepted`);
                // a healthy one is the last good read as soon as it is read.
                let shrunk = matches!(s.outcome, SourceOutcome::Shrunk(_));
                if dry_run || (shrunk && !accepted) {
                    let fetched = if dry_run { s.fetched } else { None };
                    SourceResult::read(old.as_ref(), &new, &s.skipped, fetched, last_sync)
                } else {
                    let result = SourceResult::read(old.as_ref(), &new, &s.skipped, None, Some(self.now));
                    let people = new.people.len();
                    self.store.save_snapshot(&s.id, &Snapshot { as_of: Some(self.now), ..new })?;
                    state.record_source_read(&s.id, people, self.now, s.full, s.cursor.clone());
                    result
                }
            }
        })
    }
}
