//! Erms' closed form against hand-computed cases.

use approx::assert_abs_diff_eq;
use holoscale_meta::{Error, Tree, allocate};

fn svc(name: &str, a: f64, b: f64, load: f64) -> Tree {
    Tree::service(name, a, b, load).unwrap()
}

#[test]
fn the_sequential_hand_check() {
    // SLO 100, a = (2, 8), w = 100, b = (5, 10): sqrt(a w) = (14.14, 28.28), slack 85, so
    // T = 5 + 85/3 = 33.3 and 10 + 170/3 = 66.7; n = ceil(200 / 28.3) = 8, ceil(800 / 56.7) = 15.
    let tree = Tree::Seq(vec![svc("a", 2.0, 5.0, 100.0), svc("b", 8.0, 10.0, 100.0)]);
    let out = allocate(&tree, 100.0).unwrap();
    assert_abs_diff_eq!(out.targets[0].latency_ms, 5.0 + 85.0 / 3.0, epsilon = 1e-9);
    assert_abs_diff_eq!(
        out.targets[1].latency_ms,
        10.0 + 170.0 / 3.0,
        epsilon = 1e-9
    );
    assert_eq!(
        (out.targets[0].containers, out.targets[1].containers),
        (8, 15)
    );
    assert_eq!(out.containers, 23);
    assert_abs_diff_eq!(out.min_slo_ms, 15.0);
    // The targets use the whole budget, and the containers keep each service within its own.
    let sum: f64 = out.targets.iter().map(|t| t.latency_ms).sum();
    assert_abs_diff_eq!(sum, 100.0, epsilon = 1e-9);
    assert!(2.0 * 100.0 / 8.0 + 5.0 <= out.targets[0].latency_ms);
    assert!(8.0 * 100.0 / 15.0 + 10.0 <= out.targets[1].latency_ms);
}

#[test]
fn parallel_branches_merge_and_share_the_blocks_target() {
    // a -> (b || c): the block merges to sqrt(a w) = sqrt(8*50 + 2*50) = sqrt(500), b = 20;
    // the chain then splits the slack 100 - (5 + 20) = 75 by sqrt(200) : sqrt(500).
    let tree = Tree::Seq(vec![
        svc("a", 2.0, 5.0, 100.0),
        Tree::Par(vec![svc("b", 8.0, 10.0, 50.0), svc("c", 2.0, 20.0, 50.0)]),
    ]);
    let out = allocate(&tree, 100.0).unwrap();
    let (s1, s2) = (200f64.sqrt(), 500f64.sqrt());
    let t_a = 5.0 + s1 / (s1 + s2) * 75.0;
    let t_block = 20.0 + s2 / (s1 + s2) * 75.0;
    assert_abs_diff_eq!(out.targets[0].latency_ms, t_a, epsilon = 1e-9);
    // Both branches get the block's whole target.
    assert_abs_diff_eq!(out.targets[1].latency_ms, t_block, epsilon = 1e-9);
    assert_abs_diff_eq!(out.targets[2].latency_ms, t_block, epsilon = 1e-9);
    // n = ceil(a w / (T - b)): 200 / 29.06 -> 7, 400 / 55.94 -> 8, 100 / 45.94 -> 3.
    let n: Vec<u32> = out.targets.iter().map(|t| t.containers).collect();
    assert_eq!(n, [7, 8, 3]);
    assert_abs_diff_eq!(out.min_slo_ms, 25.0);
    // Every path meets the SLO at those containers.
    let lat = |a: f64, b: f64, w: f64, n: u32| a * w / f64::from(n) + b;
    let first = lat(2.0, 5.0, 100.0, n[0]);
    assert!(first + lat(8.0, 10.0, 50.0, n[1]) <= 100.0);
    assert!(first + lat(2.0, 20.0, 50.0, n[2]) <= 100.0);
}

#[test]
fn infeasible_slos_say_the_minimum() {
    let tree = Tree::Seq(vec![
        svc("a", 2.0, 5.0, 100.0),
        Tree::Par(vec![svc("b", 8.0, 10.0, 50.0), svc("c", 2.0, 20.0, 50.0)]),
    ]);
    assert_eq!(
        allocate(&tree, 25.0).unwrap_err(),
        Error::Infeasible {
            slo_ms: 25.0,
            min_ms: 25.0
        }
    );
    let msg = allocate(&tree, 20.0).unwrap_err().to_string();
    assert!(
        msg.contains("20 ms cannot be met") && msg.contains("25 ms"),
        "{msg}"
    );
    assert!(allocate(&tree, f64::NAN).is_err());
    assert!(allocate(&Tree::Seq(vec![]), 100.0).is_err());
    assert!(Tree::service("x", 0.0, 1.0, 1.0).is_err());
    assert!(allocate(&Tree::Seq(vec![svc("x", 1.0, 1.0, -3.0)]), 10.0).is_err());
}

#[test]
fn idle_services_keep_one_container_and_split_evenly() {
    let tree = Tree::Seq(vec![svc("a", 2.0, 5.0, 0.0), svc("b", 8.0, 10.0, 0.0)]);
    let out = allocate(&tree, 35.0).unwrap();
    assert_abs_diff_eq!(out.targets[0].latency_ms, 15.0, epsilon = 1e-9);
    assert_abs_diff_eq!(out.targets[1].latency_ms, 20.0, epsilon = 1e-9);
    assert_eq!(out.containers, 2);
}

#[test]
fn two_piece_profiles_switch_at_the_knee() {
    use holoscale_meta::{Linear, TwoPiece};
    // 1 ms per request/s (plus 5 ms) up to 10 requests/s per container, then 4 ms per
    // request/s: the knee belongs to the piece below.
    let p = TwoPiece::new(
        10.0,
        Linear::new(1.0, 5.0).unwrap(),
        Linear::new(4.0, 0.0).unwrap(),
    )
    .unwrap();
    assert_abs_diff_eq!(p.latency_ms(4.0), 9.0);
    assert_abs_diff_eq!(p.latency_ms(10.0), 15.0);
    assert_abs_diff_eq!(p.latency_ms(12.0), 48.0);
    assert_eq!(p.piece(12.0), Linear { a: 4.0, b: 0.0 });
    // The steeper piece must be above the knee.
    assert!(
        TwoPiece::new(
            10.0,
            Linear::new(4.0, 0.0).unwrap(),
            Linear::new(1.0, 5.0).unwrap()
        )
        .is_err()
    );
    assert!(
        TwoPiece::new(
            0.0,
            Linear::new(1.0, 0.0).unwrap(),
            Linear::new(2.0, 0.0).unwrap()
        )
        .is_err()
    );
}
