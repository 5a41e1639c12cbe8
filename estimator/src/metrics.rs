//! Forecast accuracy as DeepScaler's evaluation computes it: MAE and RMSE over the values
//! whose truth is non-zero, MAPE over those with |truth| > 0.5; per service, per horizon step
//! and overall.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use ndarray::Array3;
use serde::Serialize;

use crate::error::Result;

/// One row of an evaluation: a model on a service (or `all`) at a horizon step (or 0 for the
/// mean over steps).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// Model name.
    pub model: String,
    /// Service name, or `all`.
    pub service: String,
    /// Horizon step from 1, or 0 for all steps together.
    pub horizon: usize,
    /// Mean absolute error where the truth is non-zero.
    pub mae: f64,
    /// Root mean squared error where the truth is non-zero.
    pub rmse: f64,
    /// Mean absolute percentage error (percent) where |truth| > 0.5.
    pub mape: f64,
    /// Values counted in MAE and RMSE.
    pub count: usize,
    /// Whether the model could run in a live cluster (false for persistence and seasonal
    /// naive of a target that is not among the inputs; see
    /// [`crate::evaluate::ModelInfo::realisable`]).
    pub realisable: bool,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    abs: f64,
    sq: f64,
    n: usize,
    pct: f64,
    n_pct: usize,
}

impl Acc {
    fn add(&mut self, pred: f64, truth: f64) {
        if !(pred.is_finite() && truth.is_finite()) {
            return;
        }
        if truth != 0.0 {
            let e = pred - truth;
            self.abs += e.abs();
            self.sq += e * e;
            self.n += 1;
        }
        if truth.abs() > 0.5 {
            self.pct += ((pred - truth) / truth).abs();
            self.n_pct += 1;
        }
    }

    fn row(&self, model: &str, service: &str, horizon: usize) -> MetricRow {
        let nan_div = |a: f64, n: usize| if n > 0 { a / n as f64 } else { f64::NAN };
        MetricRow {
            model: model.to_string(),
            service: service.to_string(),
            horizon,
            mae: nan_div(self.abs, self.n),
            rmse: nan_div(self.sq, self.n).sqrt(),
            mape: 100.0 * nan_div(self.pct, self.n_pct),
            count: self.n,
            realisable: true,
        }
    }
}

/// Metrics of `pred` against `truth`, both `[windows, horizon, services]` in target units.
/// Rows: every (service, step), every service over all steps, all services per step, and the
/// overall row (`service = "all"`, `horizon = 0`).
pub fn evaluate(
    model: &str,
    services: &[String],
    pred: &Array3<f64>,
    truth: &Array3<f64>,
) -> Vec<MetricRow> {
    let (w, h, n) = pred.dim();
    assert_eq!(pred.dim(), truth.dim(), "predictions and truth must align");
    let mut cell = vec![Acc::default(); h * n];
    for i in 0..w {
        for k in 0..h {
            for s in 0..n {
                cell[k * n + s].add(pred[[i, k, s]], truth[[i, k, s]]);
            }
        }
    }
    let merge = |accs: &mut dyn Iterator<Item = Acc>| {
        accs.fold(Acc::default(), |mut a, b| {
            a.abs += b.abs;
            a.sq += b.sq;
            a.n += b.n;
            a.pct += b.pct;
            a.n_pct += b.n_pct;
            a
        })
    };
    let mut rows = Vec::new();
    for (s, name) in services.iter().enumerate() {
        if h > 1 {
            for k in 0..h {
                rows.push(cell[k * n + s].row(model, name, k + 1));
            }
        }
        rows.push(merge(&mut (0..h).map(|k| cell[k * n + s])).row(model, name, 0));
    }
    if h > 1 {
        for k in 0..h {
            rows.push(merge(&mut (0..n).map(|s| cell[k * n + s])).row(model, "all", k + 1));
        }
    }
    rows.push(merge(&mut cell.iter().copied()).row(model, "all", 0));
    rows
}

/// Writes metric rows as Parquet (columns `model`, `service`, `horizon`, `mae`, `rmse`,
/// `mape`, `count`, `realisable`; a metric with no values to average is null), atomically.
pub fn write_parquet(rows: &[MetricRow], path: &Path) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("horizon", DataType::UInt64, false),
        Field::new("mae", DataType::Float64, true),
        Field::new("rmse", DataType::Float64, true),
        Field::new("mape", DataType::Float64, true),
        Field::new("count", DataType::UInt64, false),
        Field::new("realisable", DataType::Boolean, false),
    ]));
    let metric = |g: fn(&MetricRow) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|r| Some(g(r)).filter(|v| v.is_finite()))
                .collect::<Vec<_>>(),
        ))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.model))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| &r.service),
        )),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.horizon as u64),
        )),
        metric(|r| r.mae),
        metric(|r| r.rmse),
        metric(|r| r.mape),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.count as u64),
        )),
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| r.realisable).collect::<Vec<_>>(),
        )),
    ];
    crate::artifact::write_batch(path, schema, cols, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_metrics_by_hand() {
        // One service, two windows, one step: truths 2 and 0, predictions 3 and 5.
        let pred = Array3::from_shape_vec((2, 1, 1), vec![3.0, 5.0]).unwrap();
        let truth = Array3::from_shape_vec((2, 1, 1), vec![2.0, 0.0]).unwrap();
        let rows = evaluate("m", &["s".into()], &pred, &truth);
        let all = rows.last().unwrap();
        assert_eq!((all.service.as_str(), all.horizon), ("all", 0));
        // The zero truth is masked: MAE = RMSE = 1, MAPE = 50%.
        assert_eq!((all.mae, all.rmse, all.count), (1.0, 1.0, 1));
        assert!((all.mape - 50.0).abs() < 1e-12);
    }

    #[test]
    fn rows_per_service_and_step() {
        let pred = Array3::from_shape_fn((3, 2, 2), |(w, k, s)| (w + k + s) as f64 + 1.5);
        let truth = Array3::from_shape_fn((3, 2, 2), |(w, k, s)| (w + k + s) as f64 + 1.0);
        let rows = evaluate("m", &["a".into(), "b".into()], &pred, &truth);
        // 2 services × (2 steps + all) + 2 steps for all + overall.
        assert_eq!(rows.len(), 2 * 3 + 2 + 1);
        assert!(
            rows.iter()
                .all(|r| (r.mae - 0.5).abs() < 1e-12 && (r.rmse - 0.5).abs() < 1e-12)
        );
    }
}
