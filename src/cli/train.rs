//! `holoscale train`: the replica estimator (or a baseline network), with EM graph learning
//! by default.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use clap::{Args, ValueEnum};

use holoscale::datasets::{self as ds};
use holoscale::estimator::artifact::Staging;
use holoscale::estimator::checkpoint::Checkpointing;
use holoscale::estimator::{ModelKind, Preset, TrainConfig, TrainOptions};
use holoscale::graphlearn::{self as gl, EdgePenalty, EmConfig, EmEvent, GraphSources};

use super::device::{DeviceArg, on_device};
use super::logging::EpochBar;
use super::output::{num, print};
use super::{TelemetryArgs, check_setting, refuse_given, split_list, usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PresetArg {
    /// 32 filters, window 3: trains on a laptop CPU.
    #[default]
    Cpu,
    /// DeepScaler's sizes: 128 filters, window 80.
    Paper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModelArg {
    /// The spatio-temporal attention GCN.
    #[default]
    Stgcn,
    /// GRU per service (baseline).
    Gru,
    /// Graph convolution + GRU (baseline).
    Tgcn,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: TelemetryArgs,
    /// Call edges (.parquet, .csv): the estimator starts from their invocation graph.
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Target column (default: optimal_replicas when present, else replicas).
    #[arg(long)]
    pub target: Option<String>,
    /// Feature columns, comma-separated (default: replicas, CPU, request rate, latency, memory).
    #[arg(long = "feature-columns", value_name = "COL,...")]
    pub feature_columns: Option<String>,
    /// Input window τ, steps (default: the preset's).
    #[arg(long)]
    pub window: Option<usize>,
    /// Predicted steps H.
    #[arg(long, default_value_t = 1)]
    pub horizon: usize,
    /// Steps between training windows.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Train and validation shares, `TRAIN,VAL` (the rest is the test range).
    #[arg(long, default_value = "0.7,0.1")]
    pub split: String,
    /// Network size.
    #[arg(long, value_enum, default_value_t = PresetArg::Cpu)]
    pub preset: PresetArg,
    /// Network.
    #[arg(long, value_enum, default_value_t = ModelArg::Stgcn)]
    pub model: ModelArg,
    /// Most epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Windows per batch (default: 16 with the cpu preset, DeepScaler's 64 with
    /// `--preset paper` or `--faithful`).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (default: 3e-3 with the cpu preset, DeepScaler's 1e-3 with
    /// `--preset paper` or `--faithful`).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Half-period of the cosine learning-rate schedule, epochs (default: 60 with the cpu
    /// preset, DeepScaler's 15 with `--preset paper` or `--faithful`).
    #[arg(long, value_name = "EPOCHS")]
    pub cosine_t_max: Option<usize>,
    /// DeepScaler's released optimisation settings (batch 64, learning rate 1e-3), none of
    /// holoscale's network options and the paper's EM loop (`--paper-graph-learning`), at
    /// the preset's sizes: the faithful configuration.
    #[arg(long, conflicts_with_all = ["service_embedding", "service_head", "relative", "per_service_scaling"])]
    pub faithful: bool,
    /// Adam weight decay.
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    /// Early-stopping patience, epochs (default: 10 with the cpu preset, DeepScaler's 5
    /// with `--preset paper` or `--faithful`).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Give the estimator a learned embedding of this width per service, appended to its
    /// inputs (holoscale's option, not the paper's; 0: none).
    #[arg(long, value_name = "WIDTH", default_value_t = 0)]
    pub service_embedding: usize,
    /// Give the estimator a learned gain and offset per service on its output (holoscale's
    /// option, not the paper's).
    #[arg(long)]
    pub service_head: bool,
    /// When the target is one of the feature columns, predict its change from the last
    /// value in the window (holoscale's option, as the trees baseline does).
    #[arg(long)]
    pub relative: bool,
    /// Standardise every feature and the target per service rather than pooled over all
    /// services, with the loss weighted back to the MAE in target units (holoscale's option,
    /// not the paper's).
    #[arg(long)]
    pub per_service_scaling: bool,
    /// Fewest replicas a prediction rounds to.
    #[arg(long, default_value_t = 1)]
    pub min_replicas: u32,
    /// Most replicas a prediction rounds to.
    #[arg(long)]
    pub max_replicas: Option<u32>,
    /// Skip windows with missing values instead of refusing the data.
    #[arg(long)]
    pub skip_missing: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// Threads each batch is split over (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, env = "HOLOSCALE_THREADS")]
    pub threads: usize,
    /// Model directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing model directory (only a model holoscale wrote: any other file
    /// there is refused), or discard the checkpoint of an interrupted training.
    #[arg(long)]
    pub force: bool,
    /// Continue an interrupted training from its checkpoint (same data and flags).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub graph: GraphLearnArgs,
}

/// `TRAIN,VAL` shares that leave a test range.
fn parse_split(text: &str) -> Result<ds::tensor::SplitSpec> {
    let bad = || {
        usage(format!(
            "--split `{text}`: expected two shares TRAIN,VAL such as 0.7,0.1"
        ))
    };
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [train, validation] = parts[..] else {
        return Err(bad());
    };
    let ok = |x: f64| x.is_finite() && (0.0..1.0).contains(&x);
    if !(ok(train) && ok(validation) && train > 0.0 && train + validation < 1.0) {
        return Err(usage(format!(
            "--split `{text}`: the shares must be in [0, 1) with a training share above 0 and a sum below 1, so that the rest is a test range"
        )));
    }
    Ok(ds::tensor::SplitSpec { train, validation })
}

impl TrainArgs {
    /// The library's options of the flags, checked before anything runs.
    pub fn options(&self) -> Result<TrainOptions> {
        if let Some(max) = self.max_replicas
            && max < self.min_replicas
        {
            return Err(usage(format!(
                "--max-replicas {max} is below --min-replicas {}",
                self.min_replicas
            )));
        }
        for (flag, v) in [
            ("--horizon", self.horizon),
            ("--stride", self.stride),
            ("--window", self.window.unwrap_or(1)),
        ] {
            if v == 0 {
                return Err(usage(format!("{flag} must be at least 1")));
            }
        }
        let opts = TrainOptions {
            target: self.target.clone(),
            features: self.feature_columns.as_deref().map(split_list),
            window: self.window,
            horizon: self.horizon,
            stride: self.stride,
            split: parse_split(&self.split)?,
            preset: match self.preset {
                PresetArg::Cpu => Preset::Cpu,
                PresetArg::Paper => Preset::Paper,
            },
            kind: match self.model {
                ModelArg::Stgcn => ModelKind::Stgcn,
                ModelArg::Gru => ModelKind::Gru,
                ModelArg::Tgcn => ModelKind::Tgcn,
            },
            train: {
                let base = if self.faithful || self.preset == PresetArg::Paper {
                    TrainConfig::new()
                } else {
                    TrainConfig::cpu()
                };
                let batch = self.batch.unwrap_or(base.batch_size);
                let lr = self.lr.unwrap_or(base.learning_rate);
                let t_max = self.cosine_t_max.unwrap_or(base.cosine_t_max);
                let patience = self.patience.unwrap_or(base.patience);
                base.with_batch_size(batch)
                    .with_learning_rate(lr)
                    .with_cosine_t_max(t_max)
                    .with_patience(patience)
            }
            .with_max_epochs(self.epochs)
            .with_weight_decay(self.weight_decay)
            .with_seed(self.seed),
            min_replicas: self.min_replicas,
            max_replicas: self.max_replicas,
            skip_missing: self.skip_missing,
            threads: self.threads,
            checkpoint: None,
            service_embedding: Some(self.service_embedding).filter(|&w| w > 0),
            service_head: self.service_head,
            relative: self.relative,
            per_service_scaling: self.per_service_scaling,
        };
        check_setting(opts.train.check())?;
        Ok(opts)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PenaltyArg {
    /// Eq. 8 as written: counts new edges (no gradient).
    Exact,
    /// A differentiable count, x / (x + scale).
    Soft,
}

/// EM graph learning options of `holoscale train` (DeepScaler Algorithm 2).
#[derive(Debug, Args)]
pub struct GraphLearnArgs {
    /// Train on the fixed starting graph instead of learning it with EM.
    #[arg(long)]
    pub no_graph_learning: bool,
    /// EM iterations.
    #[arg(long, default_value_t = 20)]
    pub em_iterations: usize,
    /// Estimator epochs per EM iteration (policy learning).
    #[arg(long, default_value_t = 5)]
    pub em_epochs: usize,
    /// Generator epochs per EM iteration (graph learning).
    #[arg(long, default_value_t = 5)]
    pub generator_epochs: usize,
    /// Capacity N_max of the affinity set.
    #[arg(long, default_value_t = 3)]
    pub set_size: usize,
    /// Target share δ of new edges (eq. 7).
    #[arg(long, default_value_t = 0.05)]
    pub delta: f64,
    /// Generator embedding size.
    #[arg(long, default_value_t = 64)]
    pub embedding: usize,
    /// Sparsification threshold ε (default 0.5/N).
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Standard deviation of the generator's embeddings (default (2·embedding)^(-1/4)).
    #[arg(long)]
    pub generator_init_std: Option<f64>,
    /// Adam learning rate of the generator.
    #[arg(long, default_value_t = 1e-3)]
    pub generator_lr: f64,
    /// Share of the last iterations that take the newest matrix.
    #[arg(long, default_value_t = 0.2)]
    pub newest_share: f64,
    /// Temperature of the softmax combining the set (eq. 9; 1 is the paper's).
    #[arg(long, default_value_t = 1.0)]
    pub set_temperature: f64,
    /// Edge-count term of the generator's loss.
    #[arg(long, value_enum, default_value_t = PenaltyArg::Exact)]
    pub edge_penalty: PenaltyArg,
    /// Scale of the soft edge count.
    #[arg(long, default_value_t = 0.01)]
    pub soft_penalty_scale: f64,
    /// Train the estimator together with the generator in graph learning, instead of
    /// holding it fixed as Algorithm 2 does: the default (holoscale's deviation, measured
    /// better on Train-Ticket, Online Boutique and the quick follow-up shop); the flag
    /// overrides the paper loop that `--faithful` implies.
    #[arg(long)]
    pub joint_graph_learning: bool,
    /// Algorithm 2 as written: graph learning trains the generator alone against the
    /// estimator held fixed (DeepScaler's loop; `--faithful` implies it).
    #[arg(long, conflicts_with = "joint_graph_learning")]
    pub paper_graph_learning: bool,
    /// Extra matrices in the starting set besides the invocation graph: od, cc.
    #[arg(long, value_name = "od,cc")]
    pub graph_sources: Option<String>,
    /// Telemetry column of the CC relationships.
    #[arg(long, default_value = "req_rate")]
    pub cc_column: String,
    /// Threshold of the CC relationships (absolute Spearman correlation).
    #[arg(long, default_value_t = 0.8)]
    pub cc_threshold: f64,
}

impl GraphLearnArgs {
    /// The EM settings of the flags; `faithful` (`--faithful`) takes the paper's loop unless
    /// `--joint-graph-learning` is given.
    pub fn config(&self, faithful: bool) -> EmConfig {
        let joint = self.joint_graph_learning || !(self.paper_graph_learning || faithful);
        EmConfig::new()
            .with_iterations(self.em_iterations)
            .with_epochs_per_iteration(self.em_epochs)
            .with_generator_epochs(self.generator_epochs)
            .with_max_set(self.set_size)
            .with_delta(self.delta)
            .with_embedding(self.embedding)
            .with_epsilon(self.epsilon)
            .with_init_std(self.generator_init_std)
            .with_generator_lr(self.generator_lr)
            .with_newest_share(self.newest_share)
            .with_temperature(self.set_temperature)
            .with_penalty(match self.edge_penalty {
                PenaltyArg::Exact => EdgePenalty::Exact,
                PenaltyArg::Soft => EdgePenalty::Soft {
                    scale: self.soft_penalty_scale,
                },
            })
            .with_joint(joint)
    }

    pub fn sources(&self) -> Result<GraphSources> {
        let mut out = GraphSources::default();
        for s in self
            .graph_sources
            .as_deref()
            .map(split_list)
            .unwrap_or_default()
        {
            match s.as_str() {
                "od" => out.od = true,
                "cc" => out.cc = Some((self.cc_column.clone(), self.cc_threshold)),
                "calls" | "invocation" => {}
                other => {
                    return Err(usage(format!(
                        "--graph-sources: unknown source `{other}`; expected od, cc"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// The command line's EM settings without flags: the library's (DeepScaler's Algorithm 2)
/// with joint graph learning, holoscale's measured deviation (BENCHMARKS.md, "Where graph
/// learning pays"); `--paper-graph-learning` or `--faithful` takes the paper's loop.
pub fn em_defaults() -> EmConfig {
    EmConfig::new().with_joint(true)
}

/// How a model is trained: on the fixed starting graph, or with EM graph learning.
pub enum Schedule {
    /// Early stopping on the fixed starting graph.
    Fixed,
    /// DeepScaler's EM loop (Algorithm 2) with these settings and starting sources.
    Em(EmConfig, GraphSources),
}

/// The flags of EM graph learning (argument ids).
pub const EM_FLAGS: [&str; 18] = [
    "em_iterations",
    "em_epochs",
    "generator_epochs",
    "set_size",
    "delta",
    "embedding",
    "epsilon",
    "generator_init_std",
    "generator_lr",
    "newest_share",
    "set_temperature",
    "edge_penalty",
    "soft_penalty_scale",
    "joint_graph_learning",
    "paper_graph_learning",
    "graph_sources",
    "cc_column",
    "cc_threshold",
];

impl TrainArgs {
    /// The schedule the flags ask for (gru, which uses no graph, trains on the fixed one);
    /// flags that the schedule would ignore are refused.
    pub fn schedule(&self, opts: &TrainOptions) -> Result<Schedule> {
        if self.graph.no_graph_learning || opts.kind == ModelKind::Gru {
            let why = if self.graph.no_graph_learning {
                "set EM graph learning, which --no-graph-learning turns off"
            } else {
                "set EM graph learning, which gru (a model without a graph) does not use"
            };
            refuse_given(&EM_FLAGS, why)?;
            if !self.graph.no_graph_learning {
                tracing::info!("gru does not use the graph: training without graph learning");
            }
            return Ok(Schedule::Fixed);
        }
        refuse_given(
            &["epochs", "patience"],
            "set early stopping, which EM graph learning does not use: it trains --em-iterations x --em-epochs epochs; pass --no-graph-learning to train with early stopping",
        )?;
        if self.graph.edge_penalty != PenaltyArg::Soft {
            refuse_given(
                &["soft_penalty_scale"],
                "applies only with --edge-penalty soft",
            )?;
        }
        let sources = self.graph.sources()?;
        if sources.cc.is_none() {
            refuse_given(
                &["cc_column", "cc_threshold"],
                "apply only with --graph-sources cc",
            )?;
        }
        let em = self.graph.config(self.faithful);
        check_setting(em.check())?;
        Ok(Schedule::Em(em, sources))
    }

    /// The files this training reads (which its output may not replace).
    pub fn inputs(&self) -> Vec<PathBuf> {
        std::iter::once(self.data.telemetry.clone())
            .chain(self.edges.clone())
            .collect()
    }
}

pub fn run(a: TrainArgs) -> Result<()> {
    let opts = a.options()?;
    let schedule = a.schedule(&opts)?;
    // The output is checked, and its staging directory made, before any work.
    let inputs = a.inputs();
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let staging = Staging::open(&a.out, a.force, a.resume, &inputs)?;
    let tel = a.data.load()?;
    let edges = a.edges.as_deref().map(ds::io::read_edges).transpose()?;
    train_and_save(
        &tel,
        edges.as_ref(),
        &opts,
        &schedule,
        staging,
        a.resume,
        a.device,
    )
}

/// Trains with `schedule`, keeping checkpoints in `staging` (continuing from its checkpoint
/// when `resume`), commits the model to the staging target and prints what was trained. The
/// demo's training stage.
pub fn train_and_save(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &TrainOptions,
    schedule: &Schedule,
    staging: Staging,
    resume: bool,
    device: DeviceArg,
) -> Result<()> {
    let opts = &TrainOptions {
        checkpoint: Some(Checkpointing {
            dir: staging.checkpoints(),
            resume,
        }),
        ..opts.clone()
    };
    if resume {
        tracing::info!(
            "resuming from the checkpoint in {}",
            staging.checkpoints().display()
        );
    }
    on_device!(device, |AB, dev| match schedule {
        Schedule::Fixed => train_fixed::<AB>(tel, edges, opts, &dev, staging),
        Schedule::Em(em, sources) => train_em::<AB>(tel, edges, opts, em, sources, &dev, staging),
    })
}

fn train_fixed<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &TrainOptions,
    device: &AB::Device,
    staging: Staging,
) -> Result<()> {
    let bar = EpochBar::new(opts.kind.name(), opts.train.max_epochs);
    let start = std::time::Instant::now();
    let trained = holoscale::estimator::train::<AB>(tel, edges, opts, device, &mut |r| {
        bar.update(opts.kind.name(), r)
    })?;
    bar.finish();
    for note in &trained.notes {
        tracing::warn!("{note}");
    }
    let out = staging.target().to_path_buf();
    staging.commit(&trained.artifact)?;
    let h = &trained.artifact.history;
    let best = &h[trained.artifact.metadata.best_epoch - 1];
    let windows = trained.data.starts(ds::tensor::Split::Train).len();
    print(&format!(
        "trained {} on {} services x {} features, window {}, horizon {}: {} epochs in {:.1} s ({:.0} windows/s), best epoch {} (validation MAE {} {})\nwrote {}\n",
        opts.kind.name(),
        trained.data.services.len(),
        trained.data.features.len(),
        trained.data.spec.input,
        trained.data.spec.horizon,
        h.len(),
        start.elapsed().as_secs_f64(),
        windows as f64 * h.len() as f64 / h.iter().map(|e| e.seconds).sum::<f64>().max(1e-9),
        best.epoch,
        num(best.val_mae),
        trained.data.target_name,
        out.display()
    ))
}

fn train_em<AB: AutodiffBackend>(
    tel: &ds::Telemetry,
    edges: Option<&ds::CallEdges>,
    opts: &TrainOptions,
    em: &EmConfig,
    sources: &GraphSources,
    device: &AB::Device,
    staging: Staging,
) -> Result<()> {
    let bar = EpochBar::new("em", em.iterations * em.epochs_per_iteration);
    let start = std::time::Instant::now();
    let learned = gl::train::<AB>(tel, edges, opts, em, sources, device, &mut |ev| match ev {
        EmEvent::Epoch(r) => bar.update("em", r),
        EmEvent::Iteration(r) => {
            let losses: Vec<String> = r.set_losses.iter().map(|l| num(*l)).collect();
            bar.note(&format!(
                "EM iteration {}/{}: val MAE {}, generator loss {}, new edges {} (proposed {}, gate {}), set losses [{}], {} edges{}",
                r.iteration,
                r.iterations,
                num(r.val_mae),
                num(r.generator_loss),
                r.new_edges,
                r.proposed_edges,
                num(r.gate_mean),
                losses.join(", "),
                r.edges,
                if r.took_newest { " (newest matrix)" } else { "" }
            ))
        }
    })?;
    bar.finish();
    let trained = &learned.trained;
    for note in &trained.notes {
        tracing::warn!("{note}");
    }
    let out = staging.target().to_path_buf();
    staging.commit(&trained.artifact)?;
    let best = &trained.artifact.history[trained.artifact.metadata.best_epoch - 1];
    let edges_learned = trained
        .artifact
        .affinity
        .indexed_iter()
        .filter(|((i, j), v)| i != j && **v != 0.0)
        .count();
    print(&format!(
        "trained {} with EM graph learning on {} services: {} iterations x {} epochs in {:.1} s; kept iteration {}, epoch {} (validation MAE {} {}), learned graph with {} edges\nwrote {}\n",
        opts.kind.name(),
        trained.data.services.len(),
        em.iterations,
        em.epochs_per_iteration,
        start.elapsed().as_secs_f64(),
        learned.best_iteration,
        best.epoch,
        num(best.val_mae),
        trained.data.target_name,
        edges_learned,
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn parse(extra: &[&str]) -> TrainArgs {
        let mut argv = vec!["train", "--telemetry", "t.parquet", "--out", "m"];
        argv.extend_from_slice(extra);
        Cmd::try_parse_from(argv).expect("valid flags").args
    }

    /// The demo builds its settings from the library's defaults; the flags must agree.
    #[test]
    fn the_flag_defaults_are_the_library_defaults() {
        let a = parse(&[]);
        assert_eq!(a.options().unwrap(), TrainOptions::default());
        assert_eq!(
            serde_json::to_value(a.graph.config(false)).unwrap(),
            serde_json::to_value(em_defaults()).unwrap()
        );
        // The paper's loop: the library's default, by flag or with --faithful; an explicit
        // --joint-graph-learning wins over --faithful.
        let paper = serde_json::to_value(EmConfig::new()).unwrap();
        let json = |a: &TrainArgs| serde_json::to_value(a.graph.config(a.faithful)).unwrap();
        assert_eq!(json(&parse(&["--paper-graph-learning"])), paper);
        assert_eq!(json(&parse(&["--faithful"])), paper);
        assert!(json(&parse(&["--faithful", "--joint-graph-learning"]))["joint"] == true);
        let argv = [
            "train",
            "--telemetry",
            "t",
            "--out",
            "m",
            "--joint-graph-learning",
        ];
        assert!(
            Cmd::try_parse_from(argv.iter().chain(&["--paper-graph-learning"])).is_err(),
            "--joint-graph-learning with --paper-graph-learning"
        );
        assert_eq!(a.graph.sources().unwrap(), GraphSources::default());
        // The demo's training flags give the demo's settings.
        let a = parse(&["--epochs", "5", "--seed", "3", "--em-iterations", "4"]);
        assert_eq!(
            a.options().unwrap().train,
            TrainConfig::cpu().with_max_epochs(5).with_seed(3)
        );
        assert_eq!(a.graph.config(false).iterations, 4);
    }

    #[test]
    fn faithful_and_the_paper_preset_take_deepscalers_optimisation_settings() {
        let train = |extra: &[&str]| parse(extra).options().unwrap().train;
        assert_eq!(
            (train(&[]).batch_size, train(&[]).learning_rate),
            (16, 3e-3)
        );
        for flags in [&["--faithful"][..], &["--preset", "paper"]] {
            assert_eq!(train(flags), TrainConfig::new(), "{flags:?}");
        }
        // An explicit setting wins over either.
        let t = train(&["--faithful", "--batch", "32", "--lr", "2e-3"]);
        assert_eq!((t.batch_size, t.learning_rate), (32, 2e-3));
        assert_eq!(train(&["--cosine-t-max", "40"]).cosine_t_max, 40);
        // The faithful network has none of holoscale's options.
        let o = parse(&["--service-embedding", "4", "--service-head"])
            .options()
            .unwrap();
        assert_eq!((o.service_embedding, o.service_head), (Some(4), true));
        let mut argv = vec!["train", "--telemetry", "t", "--out", "m", "--faithful"];
        argv.push("--service-head");
        assert!(
            Cmd::try_parse_from(argv).is_err(),
            "--faithful with --service-head"
        );
        assert!(parse(&["--relative"]).options().unwrap().relative);
        assert!(!parse(&[]).options().unwrap().relative);
        assert!(
            parse(&["--per-service-scaling"])
                .options()
                .unwrap()
                .per_service_scaling
        );
        let argv = ["train", "--telemetry", "t", "--out", "m", "--faithful"];
        assert!(
            Cmd::try_parse_from(argv.iter().chain(&["--per-service-scaling"])).is_err(),
            "--faithful with --per-service-scaling"
        );
    }
}
