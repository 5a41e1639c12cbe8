//! From telemetry to an estimator trained with EM graph learning: the estimator crate's
//! preparation (windows, starting affinity, network), the starting affinity set, the EM loop,
//! and an artifact whose affinity is the learned matrix.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::em::{self, EmConfig, EmEvent, IterationReport, SetMember};
use crate::error::{Error, Result};
use crate::sources::{self, normalize};
use holoscale_datasets::{CallEdges, Telemetry};
use holoscale_estimator::pipeline::{TrainOptions, Trained, prepare};
use holoscale_estimator::training::ModelKind;

/// Which matrices start the affinity set besides the invocation graph (or the identity
/// without call edges). DeepScaler starts from the invocation graph alone, the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GraphSources {
    /// Add the OD relationships of the call edges (eq. 15).
    pub od: bool,
    /// Add the CC relationships (eq. 16) of this telemetry column over the training steps,
    /// with this threshold.
    pub cc: Option<(String, f64)>,
}

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
}

#[derive(Serialize)]
struct History<'a> {
    config: &'a EmConfig,
    sources: &'a GraphSources,
    starting_set: Vec<&'a str>,
    best_iteration: usize,
    iterations: &'a [IterationReport],
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
            "--model",
            "graph learning needs a model that uses the graph (stgcn or tgcn); pass --no-graph-learning for gru",
        ));
    }
    if extra.od && edges.is_none() {
        return Err(Error::param(
            "--graph-sources od",
            "OD relationships need call edges (--edges)",
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
    B::seed(device, opts.train.seed);
    let model = prepared.model.init::<B>(device);
    let outcome = em::run(
        model,
        &prepared.data,
        start,
        &opts.train,
        em,
        device,
        progress,
    )?;
    let history = History {
        config: em,
        sources: extra,
        starting_set: starting_set.iter().map(String::as_str).collect(),
        best_iteration: outcome.best_iteration,
        iterations: &outcome.iterations,
    };
    let history = serde_json::to_value(&history).expect("EM history serialises");
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
        .push(("graph_learning.json".into(), history));
    Ok(Learned {
        trained,
        iterations: outcome.iterations,
        set: outcome.set,
        best_iteration: outcome.best_iteration,
    })
}
