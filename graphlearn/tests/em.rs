//! The EM loop (Algorithm 2): its pieces by hand, settings checked before running, and a
//! planted dependency recovered from data.

use approx::assert_abs_diff_eq;
use holoscale_datasets::Telemetry;
use holoscale_datasets::truth::LatentKind;
use holoscale_datasets::truth::{GroundTruth, TruthEdge, TruthKind};
use holoscale_estimator::backend::{Cpu, CpuAutodiff};
use holoscale_estimator::pipeline::TrainOptions;
use holoscale_estimator::training::TrainConfig;
use holoscale_graphlearn::em::{combination_weights, edge_penalty, prune};
use holoscale_graphlearn::metrics::{TruthPairs, edge_scores};
use holoscale_graphlearn::{
    EdgePenalty, EmConfig, EmEvent, GraphSources, IterationReport, Learned, train,
};
use ndarray::{Array3, array};

type AB = CpuAutodiff;

/// burn's CPU seed is process-wide: tests that train take this lock, so each starts
/// from the weights its seed gives and not from what a concurrent test left.
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn training() -> std::sync::MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn edge_penalty_by_hand() {
    let old = array![[1.0, 0.0], [0.0, 0.0]];
    let new = array![[0.5, 0.2], [0.3, 0.0]];
    // Two entries are new: C = 2, C/N² = 0.5, ReLU(0.5 − 0.05)/0.05 = 9.
    let (c, p) = edge_penalty(&new, &old, 0.05);
    assert_eq!(c, 2);
    assert_abs_diff_eq!(p, 9.0, epsilon = 1e-12);
    // Under δ: no penalty. An edge that disappears is not "new".
    let (c, p) = edge_penalty(&new, &old, 0.6);
    assert_eq!((c, p), (2, 0.0));
    let (c, _) = edge_penalty(&old, &new, 0.05);
    assert_eq!(c, 0);
}

#[test]
fn the_set_keeps_at_most_n_max_and_drops_the_worst() {
    let mut set = vec!["a", "b", "c", "d"];
    let mut losses = vec![0.3, 0.5, 0.1, 0.2];
    let dropped = prune(&mut set, &mut losses, 3);
    assert_eq!(dropped, [1]);
    assert_eq!(set, ["a", "c", "d"]);
    assert_eq!(losses, [0.3, 0.1, 0.2]);
    let dropped = prune(&mut set, &mut losses, 1);
    assert_eq!(
        dropped,
        [0, 2],
        "a then d, as indices into the set as it was"
    );
    assert_eq!(set, ["c"]);
}

#[test]
fn combination_weights_by_hand() {
    // softmax(max L − l) for l = (1, 2): (e, 1)/(e + 1).
    let w = combination_weights(&[1.0, 2.0], 1.0);
    let e = std::f64::consts::E;
    assert_abs_diff_eq!(w[0], e / (e + 1.0), epsilon = 1e-12);
    assert_abs_diff_eq!(w[1], 1.0 / (e + 1.0), epsilon = 1e-12);
    // A lower temperature sharpens towards the best.
    let sharp = combination_weights(&[1.0, 2.0], 0.1);
    assert!(sharp[0] > 0.9999);
}

#[test]
fn settings_are_checked_before_anything_runs() {
    let tel = planted(60);
    let opts = options(1);
    for (bad, name) in [
        (EmConfig::new().with_iterations(0), "`em.iterations`"),
        (EmConfig::new().with_max_set(0), "`em.max_set`"),
        (EmConfig::new().with_delta(1.5), "`em.delta`"),
        (EmConfig::new().with_epsilon(Some(0.0)), "`em.epsilon`"),
        (EmConfig::new().with_newest_share(2.0), "`em.newest_share`"),
        (
            EmConfig::new().with_penalty(EdgePenalty::Soft { scale: -1.0 }),
            "`em.penalty.scale`",
        ),
    ] {
        let err = train::<AB>(
            &tel,
            None,
            &opts,
            &bad,
            &GraphSources::default(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(name), "{err}");
    }
    assert_eq!(
        EmConfig::new().first_newest_iteration(),
        17,
        "the last 20% of 20 iterations"
    );
}

/// Four services; `b`'s load is `a`'s two steps later, `c` and `d` are unrelated. The
/// dependency {a, b} is planted; nothing tells the learner about it (no call edges).
fn planted(steps: usize) -> Telemetry {
    let mut state = 12345u64;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let driver: Vec<Vec<f64>> = (0..3)
        .map(|k| {
            let mut x = 0.0;
            (0..steps)
                .map(|_| {
                    x = 0.8 * x + noise();
                    x + (k as f64)
                })
                .collect()
        })
        .collect();
    let v = Array3::from_shape_fn((steps, 4, 1), |(t, n, _)| match n {
        0 => driver[0][t],
        1 => {
            if t >= 2 {
                driver[0][t - 2]
            } else {
                0.0
            }
        }
        2 => driver[1][t],
        _ => driver[2][t],
    });
    Telemetry::try_new(
        "planted",
        0,
        30_000,
        vec!["a".into(), "b".into(), "c".into(), "d".into()],
        vec!["req_rate".into()],
        v,
    )
    .unwrap()
}

fn options(epochs: usize) -> TrainOptions {
    TrainOptions {
        target: Some("req_rate".into()),
        features: Some(vec!["req_rate".into()]),
        window: Some(4),
        train: TrainConfig::new()
            .with_max_epochs(epochs)
            .with_learning_rate(5e-3)
            .with_batch_size(32)
            .with_cosine_t_max(1000),
        ..TrainOptions::default()
    }
}

/// EM on `tel` without call edges; the outcome and every iteration's report.
fn train_em(
    tel: &Telemetry,
    opts: &TrainOptions,
    em: &EmConfig,
) -> (Learned<Cpu>, Vec<IterationReport>) {
    let mut iterations = Vec::new();
    let learned = train::<AB>(
        tel,
        None,
        opts,
        em,
        &GraphSources::default(),
        &Default::default(),
        &mut |e| {
            if let EmEvent::Iteration(r) = e {
                iterations.push(r.clone());
            }
        },
    )
    .unwrap();
    (learned, iterations)
}

#[test]
fn em_recovers_a_planted_dependency_and_beats_the_fixed_graph() {
    let _serial = training();
    let tel = planted(500);
    let em = EmConfig::new()
        .with_iterations(8)
        .with_epochs_per_iteration(3)
        .with_generator_epochs(6)
        .with_embedding(8)
        .with_generator_lr(2e-2);
    // Recovery on this 4-service toy depends on the initial weights: with 6 iterations of 3
    // generator epochs, 3 of 7 seeds recovered the edge on NdArray (holoscale 0.1), and the
    // Flex backend with weights drawn in field order (`parallel::materialise`, the generator
    // then drawn before the estimator) none of 7; 8 iterations of 6 generator epochs
    // recovered it at this seed and seed 3 (2 of 4), and recover it at this seed with the
    // estimator drawn first.
    let (learned, iterations) = train_em(&tel, &options(24), &em);
    assert_eq!(iterations.len(), 8);

    assert!(iterations.iter().all(|r| r.set_losses.len() <= 3));
    // A1 = ReLU(M1 M2ᵀ − M2 M1ᵀ + diag Λ) is positive in at most one direction per pair:
    // at most 6 of the 12 off-diagonal entries of 4 services; the gate is a sigmoid.
    for r in &iterations {
        assert!(r.proposed_edges <= 6, "{r:?}");
        assert!(r.gate_mean > 0.0 && r.gate_mean < 1.0, "{r:?}");
    }
    assert!(
        iterations.iter().any(|r| r.proposed_edges > 0),
        "G proposes edges"
    );
    assert!(
        iterations.iter().skip(2).all(|r| r.dropped.is_some()),
        "a full set drops one per iteration"
    );
    assert_eq!(learned.trained.artifact.metadata.affinity_source, "learned");
    let a = &learned.trained.artifact.affinity;
    let services = learned.trained.data.services.clone();
    let truth = GroundTruth {
        edges: vec![TruthEdge {
            source: "a".into(),
            destination: "b".into(),
            kind: TruthKind::Latent(LatentKind::SameAction),
            via: None,
        }],
    };
    let pairs = TruthPairs::new(&truth, &services).unwrap();
    let scores = edge_scores(a, &services, &pairs, None).unwrap();
    assert_eq!(scores.latent_recall, Some(1.0), "learned graph: {a:?}");
    // The same estimator on the fixed (identity) graph, same epochs.
    let fixed = holoscale_estimator::train::<AB>(
        &tel,
        None,
        &options(24),
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let best_fixed = fixed
        .artifact
        .history
        .iter()
        .map(|e| e.val_loss)
        .fold(f64::INFINITY, f64::min);
    let best_em = learned
        .trained
        .artifact
        .history
        .iter()
        .map(|e| e.val_loss)
        .fold(f64::INFINITY, f64::min);
    // The learned edge is a small weight (a few percent of b's row): EM is a few percent
    // better than the fixed graph, not more.
    assert!(
        best_em < 0.98 * best_fixed,
        "EM {best_em} vs fixed {best_fixed}"
    );
}

#[test]
fn joint_graph_learning_also_trains_the_estimator() {
    let _serial = training();
    let tel = planted(300);
    let run = |joint: bool| {
        let em = EmConfig::new()
            .with_iterations(1)
            .with_epochs_per_iteration(2)
            .with_generator_epochs(2)
            .with_embedding(8)
            .with_joint(joint);
        train_em(&tel, &options(2), &em).1.remove(0)
    };
    let (fixed, joint) = (run(false), run(true));
    // In the fixed run, the set is scored by the estimator that policy learning left, so the
    // starting matrix (the one it was trained on) scores exactly its validation loss. In the
    // joint run, graph learning moved the estimator, so the same matrix scores differently.
    assert_eq!(fixed.set_iterations[0], 0);
    assert_eq!(joint.set_iterations[0], 0);
    assert!(
        (fixed.set_losses[0] - fixed.val_loss).abs() < 1e-9,
        "{fixed:?}"
    );
    assert!(
        (joint.set_losses[0] - joint.val_loss).abs() > 1e-6,
        "{joint:?}"
    );
}

/// Every number of an iteration report but its wall time.
fn iteration_numbers(r: &IterationReport) -> String {
    let mut r = r.clone();
    r.seconds = 0.0;
    format!("{r:?}")
}

#[test]
fn an_interrupted_em_run_resumes_to_the_same_graph_and_numbers() {
    use holoscale_estimator::checkpoint::Checkpointing;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let _serial = training();
    let tel = planted(120);
    let em = EmConfig::new()
        .with_iterations(3)
        .with_epochs_per_iteration(1)
        .with_generator_epochs(1)
        .with_embedding(8)
        .with_joint(true);
    let (whole, whole_its) = train_em(&tel, &options(1), &em);

    let dir = tempfile::tempdir().unwrap();
    let ck = Checkpointing {
        dir: dir.path().join("checkpoint"),
        resume: false,
    };
    let with = |resume: bool| TrainOptions {
        checkpoint: Some(Checkpointing {
            resume,
            ..ck.clone()
        }),
        ..options(1)
    };
    // Killed at the end of iteration 2, before its checkpoint: iteration 1 is kept.
    let killed = catch_unwind(AssertUnwindSafe(|| {
        train::<AB>(
            &tel,
            None,
            &with(false),
            &em,
            &GraphSources::default(),
            &Default::default(),
            &mut |e| {
                if let EmEvent::Iteration(r) = e {
                    assert!(r.iteration < 2, "interrupted in iteration 2");
                }
            },
        )
    }));
    assert!(killed.is_err());
    let (resumed, resumed_its) = train_em(&tel, &with(true), &em);
    assert_eq!(
        resumed_its
            .iter()
            .map(iteration_numbers)
            .collect::<Vec<_>>(),
        whole_its.iter().map(iteration_numbers).collect::<Vec<_>>()
    );
    assert_eq!(
        resumed.trained.artifact.affinity,
        whole.trained.artifact.affinity
    );
    assert_eq!(resumed.best_iteration, whole.best_iteration);
}
