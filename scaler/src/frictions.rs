//! Control-loop frictions: what stands between a scaler's decision and the replicas serving,
//! and between the cluster's state and what the scaler sees. On by default in the harness
//! ([`Frictions::default`]); [`Frictions::none`] turns them all off.
//!
//! | friction | default | where it comes from |
//! |---|---|---|
//! | pod start-up delay | per service by runtime ([`startup_delay_s`]) | Kubernetes' pod start-up SLO (5 s at p99 for a pod with its image present, excluding the image pull; `sig-scalability` SLOs), the readiness probe's default `periodSeconds` of 10 s (a pod is seen ready up to a period after it is), and the runtime's own initialisation, which is holoscale's estimate per runtime class (below) |
//! | metrics lag | 1 interval | a scaler reads the last completed scrape: metrics-server and Prometheus scrape every 15 s, so the newest value is up to one scrape old |
//! | rate window | 2 intervals (30 s at the 15 s scrape) | rates are computed over a range, as `rate(x[30s])` in Prometheus |
//! | scrape interval | 15 s | the default `metric-resolution` of metrics-server and a common Prometheus `scrape_interval` |
//! | decision period | per scaler: HPA 15 s (the controller's `--horizontal-pod-autoscaler-sync-period`), DeepScaler 30 s (section V), the others 30 s, AWS 60 s (CloudWatch's one-minute datapoints) | |
//! | scale-down stabilisation | 300 s for every scaler but HPA, which applies its own | recommendations reach a cluster through an HPA (KEDA feeds an external metric to one), whose default scale-down stabilisation window is 300 s |
//!
//! Start-up delays by runtime class (holoscale's defaults, configurable; the runtime of each
//! built-in service is the one its application's repository documents): native binaries
//! (Go, C++, nginx) 10 s; Node.js, Python and Ruby 15 s; .NET 20 s; datastores and brokers
//! 30 s; Java (Spring Boot, Open Liberty) 60 s. The platform part (scheduling, container
//! start, the readiness probe's period) is about 10 s of each; the rest is the runtime
//! initialising (a JVM loading and JIT-compiling a Spring Boot context on a fraction of a
//! core takes tens of seconds to minutes).

use std::collections::BTreeMap;

use holoscale_sim::AppSpec;

use crate::error::{Error, Result};

/// The runtime class of a service, which sets its default start-up delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Go, C++, Rust, nginx.
    Native,
    /// Node.js, Python, Ruby.
    Interpreted,
    /// .NET.
    DotNet,
    /// MongoDB, MySQL, Redis, memcached, RabbitMQ.
    Datastore,
    /// Spring Boot, Open Liberty.
    Java,
}

impl Runtime {
    /// Default start-up delay of the class, seconds (see the module table).
    pub fn startup_s(self) -> f64 {
        match self {
            Runtime::Native => 10.0,
            Runtime::Interpreted => 15.0,
            Runtime::DotNet => 20.0,
            Runtime::Datastore => 30.0,
            Runtime::Java => 60.0,
        }
    }
}

/// The runtime of `service` of the built-in application `app`, as the application's
/// repository documents it; `None` for a service holoscale has no record of.
///
/// - Bookinfo (Istio docs): productpage Python, details Ruby, reviews Java (Open Liberty),
///   ratings Node.js.
/// - Online Boutique (its README's service table): adservice Java, cartservice C#,
///   currencyservice and paymentservice Node.js, emailservice and recommendationservice
///   Python, the others Go.
/// - Sock Shop (microservices-demo): front-end Node.js; carts, orders, shipping and
///   queue-master Java (Spring Boot); catalogue, payment and user Go; rabbitmq a broker.
/// - Train-Ticket (FudanSELab): Java Spring Boot except ts-ui-dashboard (nginx),
///   ts-news-service (Go), ts-ticket-office-service (Node.js), ts-voucher-service and
///   ts-avatar-service (Python).
/// - The DeathStarBench applications: C++ (Social Network, Media) and Go (Hotel
///   Reservation) services; their MongoDB, memcached and Redis tiers are datastores.
pub fn runtime_of(app: &str, service: &str) -> Option<Runtime> {
    use Runtime::*;
    let datastore = ["mongodb", "memcached", "redis", "mysql", "-db", "rabbitmq"]
        .iter()
        .any(|k| service.contains(k));
    Some(match app {
        "bookinfo" => match service {
            "productpage" | "ratings" | "details" => Interpreted,
            "reviews" => Java,
            _ => return None,
        },
        "online-boutique" => match service {
            "adservice" => Java,
            "cartservice" => DotNet,
            "currencyservice" | "paymentservice" | "emailservice" | "recommendationservice" => {
                Interpreted
            }
            "frontend" | "productcatalogservice" | "shippingservice" | "checkoutservice" => Native,
            _ if datastore => Datastore,
            _ => return None,
        },
        "sock-shop" => match service {
            _ if datastore => Datastore,
            "front-end" => Interpreted,
            "carts" | "orders" | "shipping" | "queue-master" => Java,
            "catalogue" | "payment" | "user" => Native,
            _ => return None,
        },
        "train-ticket" => match service {
            "ts-ui-dashboard" | "ts-news-service" => Native,
            "ts-ticket-office-service" | "ts-voucher-service" | "ts-avatar-service" => Interpreted,
            _ if datastore => Datastore,
            s if s.starts_with("ts-") => Java,
            _ => return None,
        },
        "social-network" | "media" | "hotel-reservation" => {
            if datastore {
                Datastore
            } else {
                Native
            }
        }
        _ => return None,
    })
}

/// Default start-up delay of `service` of the built-in `app`, seconds; `None` when holoscale
/// has no record of the service.
pub fn startup_delay_s(app: &str, service: &str) -> Option<f64> {
    runtime_of(app, service).map(Runtime::startup_s)
}

/// Which start-up delays the simulated services get.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Startup {
    /// By runtime ([`startup_delay_s`]) for the services of built-in applications, the
    /// application spec's `startup_delay_s` for the others.
    #[default]
    ByRuntime,
    /// The application spec's `startup_delay_s` (10 s unless the spec says otherwise).
    Spec,
    /// The same delay for every service, seconds.
    Fixed(f64),
    /// Per service by name, seconds; the others by runtime.
    PerService(BTreeMap<String, f64>),
}

impl Startup {
    /// `spec` with its services' start-up delays set.
    pub fn apply(&self, spec: &AppSpec) -> AppSpec {
        let mut out = spec.clone();
        for s in &mut out.services {
            let by_runtime = startup_delay_s(&spec.name, &s.name);
            s.startup_delay_s = match self {
                Startup::Spec => s.startup_delay_s,
                Startup::Fixed(v) => *v,
                Startup::ByRuntime => by_runtime.unwrap_or(s.startup_delay_s),
                Startup::PerService(map) => map
                    .get(&s.name)
                    .copied()
                    .or(by_runtime)
                    .unwrap_or(s.startup_delay_s),
            };
        }
        out
    }
}

/// The frictions of a control loop (see the module table).
#[derive(Debug, Clone, PartialEq)]
pub struct Frictions {
    /// Pod start-up delays.
    pub startup: Startup,
    /// Scrape (and simulation) interval, ms.
    pub interval_ms: i64,
    /// Intervals between the end of an interval and a scaler seeing it.
    pub metrics_lag_intervals: usize,
    /// Intervals a rate is averaged over (at least 1).
    pub rate_window_intervals: usize,
    /// Scale-down stabilisation applied to every scaler's decisions except HPA's, which
    /// has its own: a service scales down only to the highest replica count the scaler
    /// asked for within this window, seconds (0: off).
    pub scale_down_stabilisation_s: f64,
}

impl Default for Frictions {
    fn default() -> Self {
        Frictions {
            startup: Startup::ByRuntime,
            interval_ms: 15_000,
            metrics_lag_intervals: 1,
            rate_window_intervals: 2,
            scale_down_stabilisation_s: 300.0,
        }
    }
}

impl Frictions {
    /// No frictions: the spec's start-up delays, no lag, one-interval rates, no
    /// stabilisation, at the simulator's default 30 s interval.
    pub fn none() -> Frictions {
        Frictions {
            startup: Startup::Spec,
            interval_ms: 30_000,
            metrics_lag_intervals: 0,
            rate_window_intervals: 1,
            scale_down_stabilisation_s: 0.0,
        }
    }

    /// Checks the settings.
    pub fn check(&self) -> Result<()> {
        if self.interval_ms <= 0 || self.interval_ms % 1000 != 0 {
            return Err(Error::param(
                "interval_ms",
                format!(
                    "must be a positive whole number of seconds, got {} ms",
                    self.interval_ms
                ),
            ));
        }
        if self.rate_window_intervals == 0 {
            return Err(Error::param("rate_window_intervals", "must be at least 1"));
        }
        if self.metrics_lag_intervals > 100 || self.rate_window_intervals > 100 {
            return Err(Error::param(
                "metrics_lag_intervals",
                "lag and rate window must be at most 100 intervals each",
            ));
        }
        if !(self.scale_down_stabilisation_s.is_finite() && self.scale_down_stabilisation_s >= 0.0)
        {
            return Err(Error::param(
                "scale_down_stabilisation_s",
                "must be a non-negative number of seconds",
            ));
        }
        match &self.startup {
            Startup::Fixed(v) if !(v.is_finite() && *v >= 0.0) => Err(Error::param(
                "startup",
                format!("a start-up delay must be >= 0 s, got {v}"),
            )),
            Startup::PerService(m) => {
                match m.iter().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
                    Some((s, v)) => Err(Error::param(
                        "startup",
                        format!("service `{s}`: a start-up delay must be >= 0 s, got {v}"),
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}
