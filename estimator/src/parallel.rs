//! Both cores: data-parallel gradients and predictions.
//!
//! A training batch is split into shards of consecutive windows; each shard runs its forward
//! and backward pass on its own thread, on a copy of the network whose parameters are fresh
//! autodiff leaves (same parameter ids, so its own graph), and the shards' gradients are
//! summed in shard order into one set for one optimiser step. Each shard's loss is its share
//! of the batch's loss (the sum of its absolute errors over the batch's element count), so
//! the summed gradient is the gradient of the whole batch, up to the order of floating-point
//! summation. The shard count is the thread count, so a given `threads` gives the same
//! numbers on every run.
//!
//! Predictions (validation, evaluation, batch prediction) split their batches over threads
//! the same way, each thread with its own copy of the network, and keep the batch order.

use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// Most threads holoscale starts for one batch.
pub const MAX_THREADS: usize = 16;

/// The thread count that `requested` stands for: `0` is one per available core (at most
/// [`MAX_THREADS`]); any other value is taken as given, capped at [`MAX_THREADS`].
pub fn resolve_threads(requested: usize) -> usize {
    let n = if requested == 0 {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    } else {
        requested
    };
    n.clamp(1, MAX_THREADS)
}

/// `items` split into at most `parts` consecutive slices of near-equal length (the first
/// ones one longer), none empty.
pub fn split<T>(items: &[T], parts: usize) -> Vec<&[T]> {
    let parts = parts.clamp(1, items.len().max(1));
    let (base, extra) = (items.len() / parts, items.len() % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 0..parts {
        let len = base + usize::from(p < extra);
        if len > 0 {
            out.push(&items[start..start + len]);
        }
        start += len;
    }
    out
}

/// Moves the gradients of `from` into `into`, parameter by parameter of the visited module,
/// adding them to any `into` already holds.
struct Accumulate<'a, B: AutodiffBackend> {
    into: &'a mut GradientsParams,
    from: &'a mut GradientsParams,
    _backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Accumulate<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(g) = self.from.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        let sum = match self.into.remove::<B::InnerBackend, D>(param.id) {
            Some(acc) => acc + g,
            None => g,
        };
        self.into.register::<B::InnerBackend, D>(param.id, sum);
    }
}

/// The lock on the backend's random generator; see [`seed`].
static BACKEND_RNG: Mutex<()> = Mutex::new(());

/// Holds the backend's random generator for one thread, from [`seed`] until it drops.
#[must_use = "the generator is only this thread's while the guard lives"]
pub struct SeededRng(#[allow(dead_code)] MutexGuard<'static, ()>);

/// Seeds the backend's random generator with `seed` and keeps it for the calling thread
/// until the returned guard drops.
///
/// burn's generator is one per process, not per network: two trainings in one process (a
/// scaler embedding holoscale, the tests of one test binary) that seed it and then draw
/// their initial weights at the same time would interleave their draws, and the weights
/// would depend on timing instead of on the seed. Everything in holoscale that seeds and
/// then draws takes this guard and holds it until its weights are drawn
/// ([`materialise`]), so the same seed gives the same weights in any process.
pub fn seed<B: Backend>(device: &B::Device, seed: u64) -> SeededRng {
    // A panic while another thread held it leaves nothing half-done that matters here:
    // the next holder seeds afresh.
    let guard = BACKEND_RNG.lock().unwrap_or_else(PoisonError::into_inner);
    B::seed(device, seed);
    SeededRng(guard)
}

/// Initialises every lazily initialised parameter of `module`, in visiting order.
///
/// burn initialises a parameter on its first use, and a clone of a parameter not yet used
/// initialises on its own, from the random state at that time: copies of a fresh network
/// made for other threads would start from different weights. Everything that hands a
/// network to threads calls this first, so the weights depend on the seed only (not on the
/// thread count or on which layer a forward pass reaches first).
pub fn materialise<B: Backend, M: Module<B>>(module: &M) {
    struct Touch;
    impl<B: Backend> ModuleVisitor<B> for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}

/// The gradients of `module`'s parameters, moved out of `grads` (as
/// [`GradientsParams::from_module`] does for autodiff gradients), so that gradients of a
/// pair of modules can go to two optimisers.
pub fn take_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    grads: &mut GradientsParams,
    module: &M,
) -> GradientsParams {
    // Accumulating into an empty set moves each gradient as it is.
    let mut out = GradientsParams::new();
    module.visit(&mut Accumulate::<B> {
        into: &mut out,
        from: grads,
        _backend: std::marker::PhantomData,
    });
    out
}

/// Sums per-shard gradients of `module`'s parameters, in the order given.
pub fn sum_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    parts: Vec<GradientsParams>,
) -> GradientsParams {
    let mut parts = parts.into_iter();
    let Some(mut total) = parts.next() else {
        return GradientsParams::new();
    };
    for mut part in parts {
        module.visit(&mut Accumulate::<B> {
            into: &mut total,
            from: &mut part,
            _backend: std::marker::PhantomData,
        });
    }
    total
}

/// The loss and the gradients of `module` over the shards of one batch.
///
/// `loss(module, shard, index)` builds shard `index`'s share of the batch's loss (its
/// contributions to the batch's scalar loss, so that the shares add up to it) on the copy
/// `module` it is given. With one shard the loss is computed on `module` itself on the
/// calling thread; with more, shard 0 runs on the calling thread and every other shard on
/// its own, each on a copy of `module` with fresh autodiff leaves. Returns the summed loss
/// and the summed gradients of `module`'s parameters.
pub fn sharded_gradients<B, M, T, F>(
    module: &M,
    shards: &[&[T]],
    device: &B::Device,
    loss: F,
) -> (f64, GradientsParams)
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    T: Sync,
    F: Fn(&M, &[T], usize) -> Tensor<B, 1> + Sync,
{
    materialise(module);
    let run = |m: &M, shard: &[T], index: usize| {
        let l = loss(m, shard, index);
        let value = l.clone().into_scalar().elem::<f64>();
        (value, GradientsParams::from_grads(l.backward(), m))
    };
    if shards.len() <= 1 {
        let shard = shards.first().copied().unwrap_or(&[]);
        return run(module, shard, 0);
    }
    let parts: Vec<(f64, GradientsParams)> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards[1..]
            .iter()
            .enumerate()
            .map(|(i, shard)| {
                let copy = module.clone().fork(device);
                let run = &run;
                scope.spawn(move || run(&copy, shard, i + 1))
            })
            .collect();
        let own = module.clone().fork(device);
        let mut parts = vec![run(&own, shards[0], 0)];
        for h in handles {
            parts.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        parts
    });
    let loss = parts.iter().map(|(l, _)| l).sum();
    let grads = sum_gradients::<B, M>(module, parts.into_iter().map(|(_, g)| g).collect());
    (loss, grads)
}

/// `f(part)` for each part of `items` split over `threads` threads, in order; the first part
/// runs on the calling thread. `clone` gives each other thread its own copy of `shared`.
pub fn map_split<T, S, R, F>(items: &[T], threads: usize, shared: &S, f: F) -> Vec<R>
where
    T: Sync,
    S: Clone + Send,
    R: Send,
    F: Fn(&S, &[T]) -> R + Sync,
{
    let parts = split(items, threads);
    if parts.len() <= 1 {
        return parts.into_iter().map(|p| f(shared, p)).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = parts[1..]
            .iter()
            .map(|part| {
                let copy = shared.clone();
                scope.spawn(move || f(&copy, part))
            })
            .collect();
        let mut out = vec![f(shared, parts[0])];
        for h in handles {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_balanced_and_ordered() {
        let v: Vec<usize> = (0..10).collect();
        let parts = split(&v, 3);
        assert_eq!(parts, vec![&v[0..4], &v[4..7], &v[7..10]]);
        assert_eq!(split(&v, 1), vec![&v[..]]);
        assert_eq!(split(&v[..2], 5), vec![&v[0..1], &v[1..2]]);
        assert!(split::<usize>(&[], 4).is_empty());
    }

    #[test]
    fn threads_resolve() {
        assert_eq!(resolve_threads(3), 3);
        assert_eq!(resolve_threads(1000), MAX_THREADS);
        assert!(resolve_threads(0) >= 1);
    }

    #[test]
    fn map_split_keeps_order() {
        let v: Vec<u32> = (1..=7).collect();
        let sums = map_split(&v, 3, &10u32, |k, part| k + part.iter().sum::<u32>());
        assert_eq!(sums, vec![10 + 1 + 2 + 3, 10 + 4 + 5, 10 + 6 + 7]);
    }
}
