//! Training checkpoints: what an interrupted `train` leaves behind so that `--resume`
//! continues where it stopped, with the same numbers as a run that was never interrupted.
//!
//! After every epoch (every EM iteration for graph learning) the trainer writes, into the
//! checkpoint directory of the model's staging directory ([`crate::artifact::Staging`]):
//! `state.json` (the loop's counters, its history, the best epoch so far, and a key of the
//! data and settings), the network of the last epoch, the network of the best epoch, and
//! the optimiser's state (Adam's moments and step count), as burn records. A checkpoint is
//! written to `checkpoint.next` and swapped in, so a kill at any moment leaves the previous
//! complete checkpoint. Resuming with other data or settings (a different key) is refused.

use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module};
use burn::optim::Optimizer;
use burn::prelude::Backend;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Where a training run keeps its checkpoints, and whether it continues from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpointing {
    /// The checkpoint directory (created when the first checkpoint is written).
    pub dir: PathBuf,
    /// Continue from the checkpoint in `dir` instead of starting afresh.
    pub resume: bool,
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

fn failed(dir: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        dir: dir.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// A key of everything a checkpoint depends on: the same JSON, the same key.
pub fn key<T: Serialize>(parts: &T) -> String {
    let text = serde_json::to_string(parts).expect("checkpoint keys serialise");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A checkpoint being written: files go to `checkpoint.next`, [`Writer::commit`] swaps it
/// in place of the previous one.
pub struct Writer {
    target: PathBuf,
    next: PathBuf,
}

impl Writer {
    /// Starts a checkpoint for `dir`.
    pub fn begin(dir: &Path) -> Result<Writer> {
        let next = dir.with_extension("next");
        if next.exists() {
            std::fs::remove_dir_all(&next).map_err(|e| failed(&next, "cannot clear", e))?;
        }
        std::fs::create_dir_all(&next).map_err(|e| failed(&next, "cannot create", e))?;
        Ok(Writer {
            target: dir.to_path_buf(),
            next,
        })
    }

    /// Writes a network as `NAME.mpk`.
    pub fn module<B: Backend, M: Module<B>>(&self, name: &str, module: &M) -> Result<()> {
        module
            .clone()
            .save_file(self.next.join(name), &recorder())
            .map_err(|e| failed(&self.next, &format!("cannot save {name}"), e))
    }

    /// Writes an optimiser's state as `NAME.mpk`.
    pub fn optimizer<B, M, O>(&self, name: &str, optim: &O) -> Result<()>
    where
        B: AutodiffBackend,
        M: AutodiffModule<B>,
        O: Optimizer<M, B>,
    {
        Recorder::<B>::record(&recorder(), optim.to_record(), self.next.join(name))
            .map_err(|e| failed(&self.next, &format!("cannot save {name}"), e))
    }

    /// Writes `state.json` and puts the checkpoint in place.
    pub fn commit<T: Serialize>(self, state: &T) -> Result<()> {
        let text = serde_json::to_string(state).expect("checkpoint states serialise");
        let path = self.next.join("state.json");
        std::fs::write(&path, text).map_err(|e| failed(&path, "cannot write", e))?;
        let old = self.target.with_extension("old");
        if self.target.exists() {
            std::fs::rename(&self.target, &old)
                .map_err(|e| failed(&self.target, "cannot move aside", e))?;
        }
        std::fs::rename(&self.next, &self.target)
            .map_err(|e| failed(&self.target, "cannot put in place", e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| failed(&old, "cannot remove", e))?;
        }
        Ok(())
    }
}

/// Reads `state.json` of the checkpoint in `dir` (or of the previous one, when a swap was
/// interrupted), and checks its key.
pub fn read_state<T: DeserializeOwned>(dir: &Path, key: &str, key_of: fn(&T) -> &str) -> Result<T> {
    let old = dir.with_extension("old");
    if !dir.exists() && old.exists() {
        std::fs::rename(&old, dir).map_err(|e| failed(dir, "cannot restore", e))?;
    }
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| failed(dir, "no checkpoint to resume (state.json)", e))?;
    let state: T = serde_json::from_str(&text)
        .map_err(|e| failed(&path, "not a checkpoint holoscale wrote", e))?;
    if key_of(&state) != key {
        return Err(Error::Checkpoint {
            dir: dir.to_path_buf(),
            message: "was written for other data or other settings; resume with the data and flags of the interrupted run, or start over (`force`)".into(),
        });
    }
    Ok(state)
}

/// Loads `NAME.mpk` of the checkpoint in `dir` into `module` (a fresh network of the same
/// architecture).
pub fn load_module<B: Backend, M: Module<B>>(
    dir: &Path,
    name: &str,
    module: M,
    device: &B::Device,
) -> Result<M> {
    module
        .load_file(dir.join(name), &recorder(), device)
        .map_err(|e| failed(dir, &format!("cannot load {name}.mpk"), e))
}

/// Loads an optimiser's state `NAME.mpk` of the checkpoint in `dir` into `optim`.
pub fn load_optimizer<B, M, O>(dir: &Path, name: &str, optim: O, device: &B::Device) -> Result<O>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: Optimizer<M, B>,
{
    let record = Recorder::<B>::load(&recorder(), dir.join(name), device)
        .map_err(|e| failed(dir, &format!("cannot load {name}.mpk"), e))?;
    Ok(optim.load_record(record))
}
