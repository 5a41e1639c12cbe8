//! From telemetry to an estimator trained with EM graph learning: the estimator crate's
//! preparation (windows, starting affinity, network), the starting affinity set, the EM loop,
//! and an artifact whose affinity is the learned matrix.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use crate::em::{self, EmConfig, EmEvent, IterationReport, SetMember};
use crate::error::{Error, Result};
use crate::history::{EmHistory, HISTORY_FILE};
use crate::sources::{self, GraphSources, normalize};
use holoscale_datasets::{CallEdges, Telemetry};
use holoscale_estimator::parallel;
use holoscale_estimator::pipeline::{TrainOptions, Trained, prepare};
use holoscale_estimator::training::ModelKind;

/// An estimator trained with EM graph learning.
#[derive(Debug)]
pub struct Learned<B: burn::prelude::Backend> {
    /// The artifact (its affinity is the learned matrix; `graph_learning.json` holds the
    /// iterations) with the windows it was trained on.
    pub trained: Trained<B>,
    /// Every EM iteration.
    pub iterations: Vec<IterationReport>,
    /// The affinity set at the end.
    pub set: Vec<SetMember>,
    /// The iteration whose estimator and affinity were kept.
    pub best_iteration: usize,
    /// What `graph_learning.json` holds.
    pub history: EmHistory,
}

/// Trains the estimator of `opts` with EM graph learning (`em`), starting from the
/// invocation graph of `edges` (plus `sources`). Settings are checked before anything runs.
pub fn train<B: AutodiffBackend>(
    tel: &Telemetry,
    edges: Option<&CallEdges>,
    opts: &TrainOptions,
    em: &EmConfig,
    extra: &GraphSources,
    device: &B::Device,
    progress: &mut dyn FnMut(EmEvent<'_>),
) -> Result<Learned<B::InnerBackend>> {
    em.check()?;
    if opts.kind == ModelKind::Gru {
        return Err(Error::param(
            "model",
            "graph learning needs a model that uses the graph (stgcn or tgcn); train gru without graph learning",
        ));
    }
    if extra.od && edges.is_none() {
        return Err(Error::param(
            "graph_sources.od",
            "OD relationships need call edges",
        ));
    }
    let mut prepared = prepare(tel, edges, opts)?;
    let services = prepared.data.services.clone();
    let mut start = vec![SetMember {
        iteration: 0,
        origin: prepared.affinity_source.to_string(),
        matrix: prepared.affinity.clone(),
    }];
    if let (true, Some(e)) = (extra.od, edges) {
        start.push(SetMember {
            iteration: 0,
            origin: "od".into(),
            matrix: normalize(&sources::od(e, &services)),
        });
    }
    if let Some((column, threshold)) = &extra.cc {
        let training = tel.slice_time(prepared.data.splits.train.clone())?;
        start.push(SetMember {
            iteration: 0,
            origin: "cc".into(),
            matrix: normalize(&sources::cc(&training, column, &services, *threshold)?),
        });
    }
    let starting_set: Vec<String> = start.iter().map(|m| m.origin.clone()).collect();
    if start.len() > 1 {
        prepared.notes.push(format!(
            "graph learning starts from the union of {}",
            starting_set.join(", ")
        ));
    }
    let model = {
        let _rng = parallel::seed::<B>(device, opts.train.seed);
        prepared.model.init::<B>(device)
    };
    let key = prepared.checkpoint_key(opts, &(em, extra));
    let outcome = em::run_checkpointed(
        model,
        &prepared.data,
        start,
        &opts.train,
        em,
        opts.threads,
        device,
        progress,
        opts.checkpoint.as_ref().map(|c| (c, key.as_str())),
    )?;
    let history = EmHistory {
        config: em.clone(),
        sources: extra.clone(),
        starting_set,
        best_iteration: outcome.best_iteration,
        iterations: outcome.iterations.clone(),
    };
    let mut trained = prepared.into_trained(
        opts,
        outcome.model.valid(),
        outcome.epochs,
        outcome.best_epoch,
        outcome.affinity,
        "learned",
    );
    trained
        .artifact
        .extra_json
        .push((HISTORY_FILE.into(), history.to_json()));
    Ok(Learned {
        trained,
        iterations: outcome.iterations,
        set: outcome.set,
        best_iteration: outcome.best_iteration,
        history,
    })
}
