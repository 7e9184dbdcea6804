//! Re-simulating a stored episode from its recorded actions: proof that a file is what was
//! played. The built-in environment the sidecar names is reset with the episode's seed and
//! stepped with each row's actions; after every step its state hash, rewards and end flag must
//! be the row's. The first row where they are not is reported (a hand-edited file is caught at
//! the edited row). Pure: the caller reads the files (`rollgym replay`, the console).

use rollgym_protocol::{GameConfig, episode::Settings};

use crate::env::{Action, DynEnv, Env, catalog};

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Data rows replayed (all of them when nothing differs).
    pub rows: usize,
    /// The first row whose recording the simulation does not reproduce.
    pub mismatch: Option<Mismatch>,
}

/// A row the recorded actions do not reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// 1 is the first data row (the line after the header).
    pub row: usize,
    /// The row's step, as recorded.
    pub t: String,
    /// The first column that differs.
    pub column: String,
    pub recorded: String,
    pub replayed: String,
}

/// Why a file cannot be replayed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "environment {0:?} is not built in: a JavaScript environment can only be replayed in the browser with the same code"
    )]
    NotBuiltIn(String),
    #[error("cannot build environment {env:?}: {why}")]
    BadEnv { env: String, why: String },
    #[error("the CSV has no {0} column")]
    MissingColumn(String),
    #[error("row {row}: {why}")]
    BadRow { row: usize, why: String },
}

/// Replays `csv`, an episode recorded with `settings` from reset seed `seed`.
pub fn replay(csv: &str, settings: &Settings, seed: u64) -> Result<Replay, ReplayError> {
    let mut env = environment(settings)?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let columns = Columns::find(&header, env.num_players())?;
    env.reset(seed);
    let mut rows = 0;
    for (index, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let row = index + 1;
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |at: usize| cells.get(at).copied().unwrap_or_default();
        let actions = columns
            .actions
            .iter()
            .map(|&at| cell(at).parse::<Action>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReplayError::BadRow { row, why: format!("an action: {e}") })?;
        let result = env.step(&actions);
        rows = row;
        let replayed = Replayed {
            state_hash: format!("{:016x}", env.state_hash()),
            rewards: result.rewards.iter().map(|r| r.to_string()).collect(),
            terminated: result.terminated.to_string(),
        };
        if let Some((column, recorded, replayed)) = columns.first_difference(&cells, &replayed) {
            let t = cell(columns.t).to_owned();
            return Ok(Replay {
                rows,
                mismatch: Some(Mismatch { row, t, column, recorded, replayed }),
            });
        }
    }
    Ok(Replay { rows, mismatch: None })
}

/// The environment a sidecar names, as it was configured.
fn environment(settings: &Settings) -> Result<DynEnv, ReplayError> {
    let defaults = GameConfig::default();
    let config = GameConfig {
        env: settings.env.clone(),
        layout: settings.layout.clone(),
        max_steps: settings.max_steps,
        cook_time: settings.cook_time.unwrap_or(defaults.cook_time),
        points_to_win: settings.points_to_win.unwrap_or(defaults.points_to_win),
        ..defaults
    };
    match catalog::built_in(&config) {
        None => Err(ReplayError::NotBuiltIn(settings.env.clone())),
        Some(Err(why)) => Err(ReplayError::BadEnv { env: settings.env.clone(), why }),
        Some(Ok(env)) => Ok(env),
    }
}

/// What the simulation produced for one row, formatted as the recorder writes it.
struct Replayed {
    state_hash: String,
    rewards: Vec<String>,
    terminated: String,
}

/// Where the columns a replay reads are.
struct Columns {
    t: usize,
    actions: Vec<usize>,
    rewards: Vec<usize>,
    terminated: usize,
    state_hash: usize,
}

impl Columns {
    fn find(header: &[&str], players: usize) -> Result<Self, ReplayError> {
        let at = |name: &str| {
            header
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| ReplayError::MissingColumn(name.to_owned()))
        };
        let each = |prefix: &str| {
            (0..players).map(|i| at(&format!("{prefix}.{i}"))).collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            t: at("t")?,
            actions: each("actions")?,
            rewards: each("rewards")?,
            terminated: at("terminated")?,
            state_hash: at("state_hash")?,
        })
    }

    /// The first column (state hash, then rewards, then the end flag) whose recorded value is
    /// not the replayed one: its name, the recorded and the replayed value.
    fn first_difference(
        &self,
        cells: &[&str],
        replayed: &Replayed,
    ) -> Option<(String, String, String)> {
        let cell = |at: usize| cells.get(at).copied().unwrap_or_default();
        let mut checks = vec![("state_hash".to_owned(), self.state_hash, &replayed.state_hash)];
        for (i, (&at, value)) in self.rewards.iter().zip(&replayed.rewards).enumerate() {
            checks.push((format!("rewards.{i}"), at, value));
        }
        checks.push(("terminated".to_owned(), self.terminated, &replayed.terminated));
        checks.into_iter().find_map(|(column, at, value)| {
            let recorded = cell(at);
            (!recorded.eq_ignore_ascii_case(value))
                .then(|| (column, recorded.to_owned(), value.clone()))
        })
    }
}

#[cfg(test)]
mod tests;
