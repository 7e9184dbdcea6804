//! Research data on disk: `<data>/<experiment>/<scene>/<participant>_ep<N>.csv` and `.json`,
//! and `<game>_summary.json` with the parity result of each episode.
//!
//! Every file is written atomically: a temporary file in the same directory, fsync, rename,
//! fsync of the directory. A crash leaves either the old file or the new one, never a partial
//! one; leftover temporary files are removed when the relay starts. Paths are built only from
//! validated ids (`SafeId`), so nothing can escape the data directory.

use std::{
    fs::{self, File},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use rollgym_protocol::{
    AdminRecord, ClientErrorRecord, MatchLogRecord, ParticipantId, SafeId, ScreeningRecord,
    StoredSidecar, Upload,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{error::UploadError, lobby::Progress, parity};

/// Marks temporary files; nothing else in the data directory contains it.
const TEMP_MARK: &str = ".tmp-";

/// The journal of participants' progress, in the experiment's directory.
const PROGRESS_FILE: &str = "progress.jsonl";

/// Every screening decision, in the experiment's directory.
pub const SCREENING_FILE: &str = "screening.jsonl";

/// `admin_actions.jsonl`: every action taken from the admin console.
pub const ADMIN_FILE: &str = "admin_actions.jsonl";

/// `client_errors.jsonl`: errors participants' pages reported.
pub const CLIENT_ERRORS_FILE: &str = "client_errors.jsonl";

/// An append-only record of the lobby's decisions: a match-log line or a participant's new
/// progress.
#[derive(Debug)]
pub enum Journal {
    Match(MatchLogRecord),
    Progress(ParticipantId, Progress),
    Screening(Box<ScreeningRecord>),
    Admin(AdminRecord),
    ClientError(Box<ClientErrorRecord>),
}

/// The data directory of one experiment.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    experiment: SafeId,
    /// Serializes read-modify-write of summary files and match-log appends.
    summaries: Mutex<()>,
    temp_counter: AtomicU64,
}

/// Where an episode's files went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub csv: PathBuf,
    pub sidecar: PathBuf,
    /// Set when this upload completed a pair and the parity check ran.
    pub parity: Option<parity::Parity>,
}

impl Storage {
    /// Opens (creating) `<data_dir>/<experiment>/` and removes temporary files left by a crash.
    pub fn open(data_dir: &Path, experiment: &SafeId) -> io::Result<Self> {
        let root = data_dir.join(experiment.as_str());
        fs::create_dir_all(&root)?;
        remove_temp_files(&root)?;
        Ok(Self {
            root,
            experiment: experiment.clone(),
            summaries: Mutex::new(()),
            temp_counter: AtomicU64::new(0),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores one upload durably, then compares it with the files of the same episode that
    /// the other `players` of its game (as the lobby formed it) have stored. Storing the same
    /// upload twice is harmless.
    pub fn store(&self, upload: &Upload, players: &[ParticipantId]) -> Result<Stored, UploadError> {
        validate(upload)?;
        let dir = self.root.join(upload.scene_id.as_str());
        fs::create_dir_all(&dir).map_err(storage_error)?;
        let base = format!("{}_ep{}", upload.participant_id, upload.episode);
        let csv = dir.join(format!("{base}.csv"));
        let sidecar = dir.join(format!("{base}.json"));
        let meta = StoredSidecar {
            sidecar: upload.sidecar.clone(),
            experiment: self.experiment.clone(),
            scene_id: upload.scene_id.clone(),
            game_id: upload.game_id.clone(),
            participant_id: upload.participant_id.clone(),
            episode: upload.episode,
            upload_id: upload.upload_id.clone(),
            stored_at_ms: unix_ms(),
        };
        let meta_text =
            serde_json::to_string_pretty(&meta).map_err(|e| UploadError::Invalid(e.to_string()))?;
        // The CSV goes last: a CSV on disk always has its sidecar.
        self.write_atomic(&sidecar, meta_text.as_bytes()).map_err(storage_error)?;
        self.write_atomic(&csv, upload.csv.as_bytes()).map_err(storage_error)?;
        let parity = self.check_parity(upload, players, &dir).map_err(storage_error)?;
        Ok(Stored { csv, sidecar, parity })
    }

    /// Compares the files of this game and episode stored so far (this one and every other
    /// player's), each with the lowest participant id's, and records the result in
    /// `<game>_summary.json`; `None` while this is the only one.
    fn check_parity(
        &self,
        upload: &Upload,
        players: &[ParticipantId],
        dir: &Path,
    ) -> io::Result<Option<parity::Parity>> {
        // Reading the stored files and writing the summary are one step: of two uploads
        // checked at once, the later summary is written from every file, never from fewer.
        let _guard = self.summaries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut others = Vec::new();
        for other in players.iter().filter(|p| **p != upload.participant_id) {
            let base = format!("{other}_ep{}", upload.episode);
            let (Ok(csv), Ok(meta)) = (
                fs::read_to_string(dir.join(format!("{base}.csv"))),
                fs::read_to_string(dir.join(format!("{base}.json"))),
            ) else {
                continue;
            };
            let same_game = serde_json::from_str::<StoredSidecar>(&meta)
                .is_ok_and(|stored| stored.game_id == upload.game_id);
            // A file of another game under the same name is from an earlier session.
            if same_game {
                others.push((other, csv));
            }
        }
        let mut files: Vec<(&ParticipantId, &str)> =
            others.iter().map(|(id, csv)| (*id, csv.as_str())).collect();
        files.push((&upload.participant_id, &upload.csv));
        // Participant-id order, so every upload of the game compares the same way round.
        files.sort_by(|a, b| a.0.cmp(b.0));
        let texts: Vec<&str> = files.iter().map(|(_, csv)| *csv).collect();
        let Some(group) = parity::compare_all(&texts) else { return Ok(None) };
        let names: Vec<ParticipantId> = files.into_iter().map(|(id, _)| id.clone()).collect();
        tracing::info!(game = %upload.game_id, episode = upload.episode, files = names.len(), equal = group.parity.is_equal(), "parity checked");
        self.record_parity(dir, upload, &names, &group)?;
        Ok(Some(group.parity))
    }

    fn record_parity(
        &self,
        dir: &Path,
        upload: &Upload,
        participants: &[ParticipantId],
        group: &parity::GroupParity,
    ) -> io::Result<()> {
        let path = dir.join(format!("{}_summary.json", upload.game_id));
        let mut summary: Value = fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| json!({ "game_id": upload.game_id, "experiment": self.experiment, "scene_id": upload.scene_id, "episodes": {} }));
        summary["participants"] = json!(participants);
        let mut episode = json!({ "parity": group.parity, "checked_at_ms": unix_ms() });
        if !group.parity.is_equal() {
            episode["between"] = json!([participants[0], participants[group.against]]);
        }
        summary["episodes"][upload.episode.to_string()] = episode;
        let text = serde_json::to_string_pretty(&summary).map_err(io::Error::other)?;
        self.write_atomic(&path, text.as_bytes())
    }

    /// Appends a participant's new progress to `progress.jsonl` (read back at start).
    pub fn append_progress(
        &self,
        participant: &ParticipantId,
        progress: Progress,
    ) -> io::Result<()> {
        self.append_journal(vec![Journal::Progress(participant.clone(), progress)])
    }

    /// Appends journal records in their order, each file written once and synced once: a
    /// group commit, so a burst of decisions costs one fsync per file instead of one per line.
    pub fn append_journal(&self, records: Vec<Journal>) -> io::Result<()> {
        // (file, its new lines), files in the order first written.
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        for record in records {
            let (path, mut line) = self.journal_line(record)?;
            line.push('\n');
            match files.iter_mut().find(|(p, _)| *p == path) {
                Some((_, text)) => text.push_str(&line),
                None => files.push((path, line)),
            }
        }
        let _guard = self.summaries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (path, text) in files {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let mut file = fs::OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(text.as_bytes())?;
            file.sync_data()?;
        }
        Ok(())
    }

    /// The file a journal record goes to and the line it becomes, stamped with the time
    /// unless it carries its own `time_ms`.
    fn journal_line(&self, record: Journal) -> io::Result<(PathBuf, String)> {
        match record {
            Journal::Match(mut record) => {
                if record.time_ms() == 0 {
                    record.set_time_ms(unix_ms());
                }
                let path = self
                    .root
                    .join("match_logs")
                    .join(format!("{}_matches.jsonl", record.scene_id()));
                Ok((path, serde_json::to_string(&record).map_err(io::Error::other)?))
            }
            Journal::Progress(participant, progress) => {
                let record = json!({
                    "participant_id": participant,
                    "scene": progress.scene,
                    "played": progress.played,
                    "time_ms": unix_ms(),
                });
                Ok((self.root.join(PROGRESS_FILE), record.to_string()))
            }
            Journal::Screening(mut record) => {
                if record.time_ms == 0 {
                    record.time_ms = unix_ms();
                }
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                Ok((self.root.join(SCREENING_FILE), line))
            }
            Journal::Admin(mut record) => {
                if record.time_ms == 0 {
                    record.time_ms = unix_ms();
                }
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                Ok((self.root.join(ADMIN_FILE), line))
            }
            Journal::ClientError(mut record) => {
                if record.time_ms == 0 {
                    record.time_ms = unix_ms();
                }
                let line = serde_json::to_string(&record).map_err(io::Error::other)?;
                Ok((self.root.join(CLIENT_ERRORS_FILE), line))
            }
        }
    }

    /// Every participant's last recorded progress. A line that does not parse (the tail of a
    /// write cut short by a crash) is skipped with a warning.
    pub fn load_progress(&self) -> io::Result<Vec<(ParticipantId, Progress)>> {
        #[derive(Deserialize)]
        struct Line {
            participant_id: ParticipantId,
            scene: usize,
            played: bool,
        }
        let lines: Vec<Line> = self.read_jsonl(PROGRESS_FILE)?;
        Ok(lines
            .into_iter()
            .map(|l| (l.participant_id, Progress { scene: l.scene, played: l.played }))
            .collect())
    }

    /// Every screening decision, oldest first; unreadable lines (a write cut short by a crash)
    /// are skipped with a warning.
    pub fn load_screening(&self) -> io::Result<Vec<ScreeningRecord>> {
        self.read_jsonl(SCREENING_FILE)
    }

    /// Every admin console action, oldest first.
    pub fn load_admin(&self) -> io::Result<Vec<AdminRecord>> {
        self.read_jsonl(ADMIN_FILE)
    }

    /// The records of a JSON-lines file in the experiment's directory (none if it does not
    /// exist yet), skipping with a warning lines that do not parse.
    fn read_jsonl<T: serde::de::DeserializeOwned>(&self, file: &str) -> io::Result<Vec<T>> {
        let text = match fs::read_to_string(self.root.join(file)) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut records = Vec::new();
        for (number, line) in text.lines().enumerate() {
            match serde_json::from_str(line) {
                Ok(record) => records.push(record),
                Err(err) => {
                    tracing::warn!(file, line = number + 1, error = %err, "skipping a record")
                }
            }
        }
        Ok(records)
    }

    /// Every decision in the match logs, oldest first. A line that does not parse (the tail of
    /// a write cut short by a crash) is skipped with a warning.
    pub fn load_match_decisions(&self) -> io::Result<Vec<MatchLogRecord>> {
        let dir = self.root.join("match_logs");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            for (number, line) in fs::read_to_string(&path)?.lines().enumerate() {
                match MatchLogRecord::parse(line) {
                    Ok(record) => records.push(record),
                    Err(err) => {
                        tracing::warn!(path = %path.display(), line = number + 1, error = %err, "skipping a match-log line")
                    }
                }
            }
        }
        // Stable: lines of one file keep their order.
        records.sort_by_key(MatchLogRecord::time_ms);
        Ok(records)
    }

    /// Temp file in the same directory, fsync, rename over `path`, fsync the directory.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let temp = self.write_temp(path, bytes)?;
        fs::rename(&temp, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// The first half of [`Storage::write_atomic`]: the data, synced, under a temporary name.
    pub fn write_temp(&self, path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_file_name(format!(".{name}{TEMP_MARK}{}-{n}", std::process::id()));
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(temp)
    }
}

fn validate(upload: &Upload) -> Result<(), UploadError> {
    if !upload.csv.starts_with("episode,t,") {
        return Err(UploadError::Invalid(
            "the CSV must start with the header episode,t,...".into(),
        ));
    }
    if upload.csv.contains('\0') {
        return Err(UploadError::Invalid("the CSV contains a NUL byte".into()));
    }
    Ok(())
}

/// Removes temporary files left by a crash, and ends a journal line a crash cut short, so the
/// next record starts on a line of its own instead of being glued to the torn one.
fn remove_temp_files(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            remove_temp_files(&path)?;
        } else if entry.file_name().to_string_lossy().contains(TEMP_MARK) {
            tracing::warn!(path = %path.display(), "removing a temporary file left by a crash");
            fs::remove_file(&path)?;
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            terminate_torn_line(&path)?;
        }
    }
    Ok(())
}

/// Only the last byte is read: journals grow with the study.
fn terminate_torn_line(path: &Path) -> io::Result<()> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        tracing::warn!(path = %path.display(), "ending a journal line cut short by a crash");
        fs::OpenOptions::new().append(true).open(path)?.write_all(b"\n")?;
    }
    Ok(())
}

fn storage_error(err: io::Error) -> UploadError {
    UploadError::Storage(err.to_string())
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests;
