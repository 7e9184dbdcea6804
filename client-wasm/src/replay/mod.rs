//! Re-simulating a stored episode from its recorded actions: proof that a file is what was
//! played. The built-in environment the sidecar names is reset with the episode's seed and
//! stepped with each row's actions; after every step its state hash, rewards and end flag must
//! be the row's. The first row where they are not is reported (a hand-edited file is caught at
//! the edited row). Pure: the caller reads the files (`rollgym replay`, the console).

use rollgym_protocol::{GameConfig, episode::Settings};
use serde::Deserialize;

use crate::env::{Action, DynEnv, Env, catalog};

mod spectator;
pub use spectator::{FeedError, LiveMismatch, Spectator};

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

/// What a replay needs of a stored sidecar (JSON): the settings that rebuild the game and the
/// episode's reset seed. Only those fields are read (the page's module never decodes a whole
/// sidecar: its decoder alone would cost the package ~19 kB).
pub fn sidecar_facts(sidecar_json: &str) -> Result<(Settings, u64), String> {
    #[derive(Deserialize)]
    struct Facts {
        seed: u64,
        settings: Rebuild,
    }
    #[derive(Deserialize)]
    struct Rebuild {
        env: String,
        #[serde(default)]
        layout: String,
        #[serde(default)]
        max_steps: u32,
        #[serde(default)]
        cook_time: Option<u16>,
        #[serde(default)]
        points_to_win: Option<u16>,
    }
    let facts: Facts =
        serde_json::from_str(sidecar_json).map_err(|e| format!("not an episode sidecar: {e}"))?;
    let Rebuild { env, layout, max_steps, cook_time, points_to_win } = facts.settings;
    let settings =
        Settings { env, layout, max_steps, cook_time, points_to_win, ..Settings::default() };
    Ok((settings, facts.seed))
}

/// Replays `csv`, an episode recorded with `settings` from reset seed `seed`.
pub fn replay(csv: &str, settings: &Settings, seed: u64) -> Result<Replay, ReplayError> {
    let mut replayer = Replayer::new(csv, settings, seed)?;
    while let Some(checked) = replayer.step() {
        if let Err(mismatch) = checked {
            return Ok(Replay { rows: replayer.position(), mismatch: Some(mismatch) });
        }
    }
    Ok(Replay { rows: replayer.position(), mismatch: None })
}

/// One recorded row: what was played and what it led to, as written.
#[derive(Debug, Clone)]
struct Recorded {
    t: String,
    actions: Vec<Action>,
    state_hash: String,
    rewards: Vec<String>,
    terminated: String,
}

/// A stored episode played back row by row (the console's player steps, seeks and draws it).
#[derive(Debug, Clone)]
pub struct Replayer {
    /// The environment right after the episode's reset.
    start: DynEnv,
    env: DynEnv,
    rows: Vec<Recorded>,
    /// Rows applied so far.
    at: usize,
}

impl Replayer {
    /// Reads every row of `csv` (a malformed one is an error) and resets the environment.
    pub fn new(csv: &str, settings: &Settings, seed: u64) -> Result<Self, ReplayError> {
        let mut env = environment(settings)?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let columns = Columns::find(&header, env.num_players())?;
        let rows = lines
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(index, line)| columns.read(index + 1, line))
            .collect::<Result<Vec<_>, _>>()?;
        env.reset(seed);
        Ok(Self { start: env.clone(), env, rows, at: 0 })
    }

    /// Data rows in the file.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Rows applied so far (the environment is in the state after the last of them).
    pub fn position(&self) -> usize {
        self.at
    }

    /// The environment now.
    pub fn env(&self) -> &DynEnv {
        &self.env
    }

    /// The step (`t`) of the last row applied, as recorded.
    pub fn t(&self) -> Option<&str> {
        self.at.checked_sub(1).and_then(|i| self.rows.get(i)).map(|r| r.t.as_str())
    }

    /// Applies the next row: `None` at the end, else whether the simulation reproduced it.
    pub fn step(&mut self) -> Option<Result<(), Mismatch>> {
        let recorded = self.rows.get(self.at)?;
        let result = self.env.step(&recorded.actions);
        self.at += 1;
        let replayed = Replayed {
            state_hash: format!("{:016x}", self.env.state_hash()),
            rewards: result.rewards.iter().map(|r| r.to_string()).collect(),
            terminated: result.terminated.to_string(),
        };
        Some(match first_difference(recorded, &replayed) {
            None => Ok(()),
            Some((column, recorded_value, replayed_value)) => Err(Mismatch {
                row: self.at,
                t: recorded.t.clone(),
                column,
                recorded: recorded_value,
                replayed: replayed_value,
            }),
        })
    }

    /// Goes to the state after `row` rows (re-simulating from the reset when going back).
    pub fn seek(&mut self, row: usize) {
        let row = row.min(self.rows.len());
        if row < self.at {
            self.env = self.start.clone();
            self.at = 0;
        }
        while self.at < row {
            self.step();
        }
    }
}

/// The environment a sidecar names, as it was configured.
pub(crate) fn environment(settings: &Settings) -> Result<DynEnv, ReplayError> {
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

    /// One data row's recorded actions and results.
    fn read(&self, row: usize, line: &str) -> Result<Recorded, ReplayError> {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |at: usize| cells.get(at).copied().unwrap_or_default().to_owned();
        let actions = self
            .actions
            .iter()
            .map(|&at| cell(at).parse::<Action>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReplayError::BadRow { row, why: format!("an action: {e}") })?;
        Ok(Recorded {
            t: cell(self.t),
            actions,
            state_hash: cell(self.state_hash),
            rewards: self.rewards.iter().map(|&at| cell(at)).collect(),
            terminated: cell(self.terminated),
        })
    }
}

/// The first column (state hash, then rewards, then the end flag) whose recorded value is not
/// the replayed one: its name, the recorded and the replayed value.
fn first_difference(recorded: &Recorded, replayed: &Replayed) -> Option<(String, String, String)> {
    let mut checks = vec![("state_hash".to_owned(), &recorded.state_hash, &replayed.state_hash)];
    for (i, (was, now)) in recorded.rewards.iter().zip(&replayed.rewards).enumerate() {
        checks.push((format!("rewards.{i}"), was, now));
    }
    checks.push(("terminated".to_owned(), &recorded.terminated, &replayed.terminated));
    checks.into_iter().find_map(|(column, was, now)| {
        (!was.eq_ignore_ascii_case(now)).then(|| (column, was.clone(), now.clone()))
    })
}

#[cfg(test)]
mod tests;
