//! Library messages name settings by their field (`window`, `em.delta`, `max_fill`); the
//! command line shows its flags instead. [`cli_text`] rewrites every backticked field name
//! that has a flag.

/// Field names of the library crates and the flags that set them.
pub const FIELD_FLAGS: &[(&str, &str)] = &[
    // Simulation (holoscale_sim::SimConfig, apps, policies, workloads).
    ("app", "--app"),
    ("policy", "--policy"),
    ("pattern", "--workload"),
    ("time_scale", "--time-scale"),
    ("tick_ms", "--tick"),
    ("interval_ms", "--interval"),
    ("duration_ms", "--duration"),
    ("noise", "--noise"),
    ("gap_prob", "--gaps"),
    ("rates", "--rates"),
    // Windows and training (holoscale_estimator::TrainOptions, TrainConfig).
    ("window", "--window"),
    ("horizon", "--horizon"),
    ("stride", "--stride"),
    ("split", "--split"),
    ("model", "--model"),
    ("learning_rate", "--lr"),
    ("weight_decay", "--weight-decay"),
    ("batch_size", "--batch"),
    ("cosine_t_max", "--cosine-t-max"),
    ("max_epochs", "--epochs"),
    ("patience", "--patience"),
    // Graph learning (holoscale_graphlearn::EmConfig, GraphSources).
    ("em.iterations", "--em-iterations"),
    ("em.epochs_per_iteration", "--em-epochs"),
    ("em.generator_epochs", "--generator-epochs"),
    ("em.max_set", "--set-size"),
    ("em.delta", "--delta"),
    ("em.embedding", "--embedding"),
    ("em.epsilon", "--epsilon"),
    ("em.init_std", "--generator-init-std"),
    ("em.generator_lr", "--generator-lr"),
    ("em.newest_share", "--newest-share"),
    ("em.temperature", "--set-temperature"),
    ("em.penalty.scale", "--soft-penalty-scale"),
    ("graph_sources.od", "--graph-sources od"),
    ("cc_threshold", "--cc-threshold"),
    // Reading and repairing telemetry (holoscale_datasets::validate::RepairPolicy, io).
    ("max_fill", "--max-fill"),
    ("long_gaps", "--long-gaps"),
    ("partial", "--partial"),
    ("duplicates", "--duplicates"),
    ("irregular", "--irregular"),
    ("features", "--features"),
    ("services", "--services"),
    ("start_ms", "--start"),
    ("array", "--array"),
    ("step_ms", "--step"),
    ("end_ms", "--end"),
    ("timestamp_unit", "--timestamp-unit"),
    ("max_bytes", "--memory-limit"),
    // Scalers (holoscale_scaler::Frictions, harness).
    ("scaler", "--scaler"),
    ("decision_period_ms", "--period"),
    ("metrics_lag_intervals", "--metrics-lag"),
    ("rate_window_intervals", "--rate-window"),
    ("scale_down_stabilisation_s", "--stabilisation"),
    ("startup", "--startup"),
    ("threads", "--threads"),
    // Outputs.
    ("force", "--force"),
    ("resume", "--resume"),
];

/// The flag of a field, if the command line has one.
pub fn flag_of(field: &str) -> Option<&'static str> {
    FIELD_FLAGS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, flag)| *flag)
}

/// `text` with every backticked field name that has a flag replaced by the flag:
/// "invalid value for `em.delta`" becomes "invalid value for `--delta`".
pub fn cli_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let inner = &rest[open + 1..open + 1 + len];
        out.push_str(&rest[..=open]);
        out.push_str(flag_of(inner).unwrap_or(inner));
        out.push('`');
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_flags_and_other_names_stay() {
        assert_eq!(
            cli_text("invalid value for `em.delta`: must be in (0, 1)"),
            "invalid value for `--delta`: must be in (0, 1)"
        );
        assert_eq!(
            cli_text("service `cart`, column `req_rate`: raise `max_fill` or set `long_gaps`"),
            "service `cart`, column `req_rate`: raise `--max-fill` or set `--long-gaps`"
        );
        assert_eq!(cli_text("no backticks"), "no backticks");
        assert_eq!(cli_text("an `unclosed quote"), "an `unclosed quote");
    }

    #[test]
    fn every_flag_is_unique_per_field() {
        for (i, (f, _)) in FIELD_FLAGS.iter().enumerate() {
            assert!(
                FIELD_FLAGS[i + 1..].iter().all(|(g, _)| g != f),
                "`{f}` is listed twice"
            );
        }
    }
}
