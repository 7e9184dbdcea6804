//! The admin console's data download: the experiment's whole data directory, or one scene's,
//! as a zip streamed while it is written (a study's data can be far larger than the relay's
//! memory should hold). Files being written (temporary files) are left out; every file in the
//! zip is complete, because storage renames files into place only once written.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::{Path, PathBuf},
};

use bytes::Bytes;
use tokio::sync::mpsc;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

/// Chunks of zip in flight between the writing thread and the response.
const CHUNKS_IN_FLIGHT: usize = 8;
const CHUNK_BYTES: usize = 64 * 1024;

/// Every complete file under `dir`, as paths relative to `base`, sorted.
pub(crate) fn files_under(base: &Path, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue; // temporary files while they are written
            }
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(base) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Streams a zip of `files` (relative to `base`, stored under `prefix/` in the zip) as
/// chunks; the receiver ends when the zip is complete, or early with an error logged.
pub(crate) fn stream_zip(
    base: PathBuf,
    prefix: String,
    files: Vec<PathBuf>,
) -> mpsc::Receiver<io::Result<Bytes>> {
    let (chunks, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let sink = ChunkSink { chunks: chunks.clone(), buffer: Vec::with_capacity(CHUNK_BYTES) };
        if let Err(err) = write_zip(sink, &base, &prefix, &files) {
            tracing::warn!(error = %err, "data download cut short");
            let _ = chunks.blocking_send(Err(err));
        }
    });
    receiver
}

fn write_zip(sink: ChunkSink, base: &Path, prefix: &str, files: &[PathBuf]) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(sink);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for relative in files {
        let name = format!("{prefix}/{}", relative.to_string_lossy().replace('\\', "/"));
        zip.start_file(name, options).map_err(io::Error::other)?;
        let mut file = File::open(base.join(relative))?;
        io::copy(&mut file, &mut zip)?;
    }
    let mut sink = zip.finish().map_err(io::Error::other)?.into_inner();
    sink.flush()
}

/// Hands what the zip writer writes to the response in chunks; fails once the response is
/// gone (the download was cancelled), which stops the writer.
struct ChunkSink {
    chunks: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl Write for ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk =
            Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES)));
        self.chunks
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was cancelled"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_zip_holds_every_complete_file_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("rollgym-zip-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("game")).expect("dirs");
        fs::write(dir.join("game/p1_ep0.csv"), "frame\n0\n").expect("write");
        fs::write(dir.join("game/.p2_ep0.csv.tmp-1-1"), "half").expect("write");
        fs::write(dir.join("match_log.jsonl"), "{}\n").expect("write");
        let files = files_under(&dir, &dir).expect("list");
        assert_eq!(files, vec![PathBuf::from("game/p1_ep0.csv"), PathBuf::from("match_log.jsonl")]);

        let mut chunks = stream_zip(dir.clone(), "study".into(), files);
        let mut zip_bytes = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            zip_bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        let mut archive = zip::ZipArchive::new(io::Cursor::new(zip_bytes)).expect("a zip");
        let names: Vec<String> =
            archive.file_names().map(|n| n.expect("name").into_owned()).collect();
        assert_eq!(names.len(), 2);
        assert!(names.contains(&"study/game/p1_ep0.csv".to_owned()));
        let mut csv = String::new();
        io::Read::read_to_string(
            &mut archive.by_name("study/game/p1_ep0.csv").expect("csv"),
            &mut csv,
        )
        .expect("read");
        assert_eq!(csv, "frame\n0\n");
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
