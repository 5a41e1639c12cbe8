//! Bookinfo, Online Boutique, Sock Shop and Train-Ticket: topologies from the projects' own
//! sources (`data/apps/`), request mixes from their load generators, per-request CPU times
//! chosen by the services' roles (front ends and Java services heavier, datastores light).

use super::{calibrate, parse_ops};
use crate::spec::{
    AppSpec, DEFAULT_MEMORY_S, LatentKind, LatentSpec, LoadScale, Profile, ServiceKind,
    ServiceSpec, Slo,
};

fn app(
    name: &str,
    description: &str,
    services: Vec<ServiceSpec>,
    ops: &str,
    latent: Vec<LatentSpec>,
) -> AppSpec {
    let mut spec = AppSpec {
        name: name.to_string(),
        description: description.to_string(),
        slo: Slo {
            percentile: 95.0,
            latency_ms: 1.0,
        },
        workload: LoadScale {
            base_rps: 1.0,
            peak_rps: 1.0,
        },
        services,
        operations: parse_ops(ops),
        latent,
    };
    calibrate(&mut spec);
    spec
}

fn latent(kind: LatentKind, a: &str, b: &str, via: Option<&str>, strength: f64) -> LatentSpec {
    LatentSpec {
        kind,
        services: [a.to_string(), b.to_string()],
        via: via.map(str::to_string),
        then: None,
        lag_s: 0.0,
        memory_s: DEFAULT_MEMORY_S,
        strength,
    }
}

fn datastore(name: &str, cpu: f64) -> ServiceSpec {
    ServiceSpec::new(name, cpu)
        .with_kind(ServiceKind::Datastore)
        .with_profile(Profile::Mmc)
}

/// Istio's Bookinfo: productpage calls details, then reviews; two of the three reviews
/// versions call ratings.
pub fn bookinfo() -> AppSpec {
    app(
        "bookinfo",
        "Istio Bookinfo: productpage -> details, reviews; reviews -> ratings (v2, v3)",
        vec![
            ServiceSpec::new("productpage", 0.02),
            ServiceSpec::new("details", 0.006),
            ServiceSpec::new("reviews", 0.012),
            ServiceSpec::new("ratings", 0.005),
        ],
        "
op productpage 1
productpage
  1 details
  2 reviews
    1 ratings x0.667
op login 0.05
productpage
",
        vec![
            latent(
                LatentKind::SameAction,
                "details",
                "reviews",
                Some("productpage"),
                0.5,
            ),
            latent(LatentKind::CoLocated, "details", "ratings", None, 0.5),
        ],
    )
}

/// Google's Online Boutique (10 services, 14 call edges) with the request mix of its load
/// generator: index 1, setCurrency 2, browseProduct 10, addToCart 2, viewCart 3, checkout 1.
pub fn online_boutique() -> AppSpec {
    app(
        "online-boutique",
        "Google Online Boutique: 10 services, 14 call edges, load generator's request mix",
        vec![
            ServiceSpec::new("frontend", 0.008),
            ServiceSpec::new("productcatalogservice", 0.002),
            ServiceSpec::new("currencyservice", 0.0015),
            ServiceSpec::new("cartservice", 0.004),
            ServiceSpec::new("recommendationservice", 0.006),
            ServiceSpec::new("shippingservice", 0.003),
            ServiceSpec::new("checkoutservice", 0.006),
            ServiceSpec::new("adservice", 0.005),
            ServiceSpec::new("paymentservice", 0.004),
            ServiceSpec::new("emailservice", 0.008),
        ],
        "
op index 1
frontend
  1 currencyservice
  2 productcatalogservice
  3 cartservice
  4 currencyservice x9
  5 adservice
op setCurrency 2
frontend
op browseProduct 10
frontend
  1 productcatalogservice
  2 currencyservice
  3 cartservice
  4 currencyservice
  5 recommendationservice
    1 productcatalogservice
  6 adservice
op addToCart 2
frontend
  1 productcatalogservice
  2 cartservice
op viewCart 3
frontend
  1 currencyservice
  2 cartservice
  3 recommendationservice
    1 productcatalogservice
  4 shippingservice
  5 currencyservice x3
  6 productcatalogservice x3
op checkout 1
frontend
  1 checkoutservice
    1 cartservice
    2 productcatalogservice x3
    3 currencyservice x3
    4 shippingservice
    5 paymentservice
    6 shippingservice
    7 cartservice
    8 emailservice
  2 recommendationservice
    1 productcatalogservice
  3 currencyservice
",
        vec![
            latent(
                LatentKind::SameAction,
                "paymentservice",
                "emailservice",
                Some("checkout"),
                0.6,
            ),
            latent(
                LatentKind::CoLocated,
                "currencyservice",
                "recommendationservice",
                None,
                0.5,
            ),
        ],
    )
}

/// Weaveworks' Sock Shop: 14 deployments with their databases and the shipping queue.
pub fn sock_shop() -> AppSpec {
    app(
        "sock-shop",
        "Weaveworks Sock Shop: 14 deployments with MongoDB/MySQL datastores and RabbitMQ",
        vec![
            ServiceSpec::new("front-end", 0.01),
            ServiceSpec::new("catalogue", 0.003),
            datastore("catalogue-db", 0.002),
            ServiceSpec::new("carts", 0.008),
            datastore("carts-db", 0.002),
            ServiceSpec::new("orders", 0.012),
            datastore("orders-db", 0.003),
            ServiceSpec::new("user", 0.004),
            datastore("user-db", 0.002),
            ServiceSpec::new("payment", 0.002),
            ServiceSpec::new("shipping", 0.006),
            ServiceSpec::new("queue-master", 0.006),
            ServiceSpec::new("rabbitmq", 0.002)
                .with_kind(ServiceKind::Queue)
                .with_profile(Profile::Mmc),
            datastore("session-db", 0.001),
        ],
        "
op browse 10
front-end
  1 session-db
  2 catalogue
    1 catalogue-db
op login 2
front-end
  1 session-db
  2 user
    1 user-db
op addToCart 3
front-end
  1 session-db
  2 carts
    1 carts-db
op viewCart 2
front-end
  1 session-db
  2 carts
    1 carts-db
  3 catalogue x2
    1 catalogue-db
op checkout 1
front-end
  1 session-db
  2 orders
    1 user x2
      1 user-db
    1 carts
      1 carts-db
    2 payment
    3 shipping
      1 rabbitmq async
    4 orders-db
op processShipment 1
queue-master
  1 rabbitmq
",
        vec![
            latent(
                LatentKind::SharedDatastore,
                "shipping",
                "queue-master",
                Some("rabbitmq"),
                0.5,
            ),
            latent(
                LatentKind::SameAction,
                "payment",
                "shipping",
                Some("checkout"),
                0.6,
            ),
            latent(LatentKind::CoLocated, "catalogue", "user", None, 0.5),
        ],
    )
}

/// Train-Ticket: 41 services; operations cover all 95 static call references, rooted only
/// at services the UI gateway routes to.
pub fn train_ticket() -> AppSpec {
    let cpu = |name: &str| -> f64 {
        match name {
            n if n.contains("admin") => 0.01,
            "ts-preserve-service"
            | "ts-preserve-other-service"
            | "ts-rebook-service"
            | "ts-travel-plan-service"
            | "ts-route-plan-service" => 0.02,
            "ts-travel-service"
            | "ts-travel2-service"
            | "ts-seat-service"
            | "ts-basic-service"
            | "ts-ticketinfo-service" => 0.012,
            "ts-order-service"
            | "ts-order-other-service"
            | "ts-auth-service"
            | "ts-inside-payment-service" => 0.01,
            "ts-station-service" | "ts-config-service" | "ts-price-service"
            | "ts-train-service" | "ts-route-service" => 0.004,
            _ => 0.008,
        }
    };
    let services = TRAIN_TICKET_SERVICES
        .iter()
        .map(|s| ServiceSpec::new(s, cpu(s)))
        .collect();
    app(
        "train-ticket",
        "Train-Ticket: 41 services, the 95 static call references, gateway-routed operations",
        services,
        TRAIN_TICKET_OPS,
        vec![
            latent(
                LatentKind::SameAction,
                "ts-security-service",
                "ts-assurance-service",
                Some("book"),
                0.6,
            ),
            latent(
                LatentKind::SharedDatastore,
                "ts-cancel-service",
                "ts-execute-service",
                Some("ts-order-service"),
                0.5,
            ),
            latent(
                LatentKind::CoLocated,
                "ts-auth-service",
                "ts-route-service",
                None,
                0.5,
            ),
        ],
    )
}

/// The 41 Train-Ticket services (`data/apps/train-ticket-services.csv`).
pub const TRAIN_TICKET_SERVICES: [&str; 41] = [
    "ts-admin-basic-info-service",
    "ts-admin-order-service",
    "ts-admin-route-service",
    "ts-admin-travel-service",
    "ts-admin-user-service",
    "ts-assurance-service",
    "ts-auth-service",
    "ts-avatar-service",
    "ts-basic-service",
    "ts-cancel-service",
    "ts-config-service",
    "ts-consign-price-service",
    "ts-consign-service",
    "ts-contacts-service",
    "ts-execute-service",
    "ts-food-map-service",
    "ts-food-service",
    "ts-inside-payment-service",
    "ts-news-service",
    "ts-notification-service",
    "ts-order-other-service",
    "ts-order-service",
    "ts-payment-service",
    "ts-preserve-other-service",
    "ts-preserve-service",
    "ts-price-service",
    "ts-rebook-service",
    "ts-route-plan-service",
    "ts-route-service",
    "ts-seat-service",
    "ts-security-service",
    "ts-station-service",
    "ts-ticket-office-service",
    "ts-ticketinfo-service",
    "ts-train-service",
    "ts-travel-plan-service",
    "ts-travel-service",
    "ts-travel2-service",
    "ts-user-service",
    "ts-verification-code-service",
    "ts-voucher-service",
];

const TRAIN_TICKET_OPS: &str = "
op search 10
ts-travel-service
  1 ts-ticketinfo-service x2
    1 ts-basic-service
      1 ts-station-service x2
      1 ts-train-service
      1 ts-route-service
      2 ts-price-service
  2 ts-seat-service x2
    1 ts-order-service
      1 ts-station-service
    1 ts-config-service
  3 ts-route-service
  3 ts-train-service
  4 ts-order-service
op search-other 4
ts-travel2-service
  1 ts-ticketinfo-service x2
    1 ts-basic-service
      1 ts-station-service x2
      1 ts-train-service
      1 ts-route-service
      2 ts-price-service
  2 ts-seat-service x2
    1 ts-order-other-service
      1 ts-station-service
    1 ts-config-service
  3 ts-route-service
  3 ts-train-service
  4 ts-order-other-service
op travel-plan 2
ts-travel-plan-service
  1 ts-route-plan-service
    1 ts-route-service
    2 ts-station-service x2
    3 ts-travel-service
      1 ts-route-service
      1 ts-train-service
    3 ts-travel2-service
      1 ts-route-service
      1 ts-train-service
  2 ts-ticketinfo-service
    1 ts-basic-service
      1 ts-station-service
      1 ts-price-service
  2 ts-seat-service
    1 ts-order-service
    1 ts-config-service
  2 ts-station-service
  3 ts-travel-service
    1 ts-ticketinfo-service
      1 ts-basic-service
  3 ts-travel2-service
    1 ts-route-service
op login 3
ts-auth-service
  1 ts-verification-code-service
  2 ts-user-service
op register 0.2
ts-user-service
  1 ts-auth-service
op book 2
ts-preserve-service
  1 ts-security-service
    1 ts-order-service
    1 ts-order-other-service
  2 ts-contacts-service
  2 ts-travel-service
    1 ts-route-service
    1 ts-train-service
  3 ts-ticketinfo-service
    1 ts-basic-service
      1 ts-price-service
  3 ts-station-service x2
  4 ts-seat-service
    1 ts-order-service
    1 ts-config-service
  5 ts-order-service
    1 ts-station-service
  6 ts-assurance-service
  6 ts-food-service
    1 ts-food-map-service
  6 ts-consign-service
    1 ts-consign-price-service
  6 ts-user-service
  7 ts-notification-service async
op book-other 1
ts-preserve-other-service
  1 ts-security-service
    1 ts-order-service
    1 ts-order-other-service
  2 ts-contacts-service
  2 ts-travel2-service
    1 ts-route-service
    1 ts-train-service
  3 ts-ticketinfo-service
    1 ts-basic-service
      1 ts-price-service
  3 ts-station-service x2
  4 ts-seat-service
    1 ts-order-other-service
    1 ts-config-service
  5 ts-order-other-service
    1 ts-station-service
  6 ts-assurance-service
  6 ts-food-service
    1 ts-food-map-service
  6 ts-consign-service
    1 ts-consign-price-service
  6 ts-user-service
  7 ts-notification-service async
op pay 2
ts-inside-payment-service
  1 ts-order-service
  1 ts-order-other-service x0.3
  2 ts-payment-service
op cancel 0.5
ts-cancel-service
  1 ts-order-service
  1 ts-order-other-service x0.3
  2 ts-inside-payment-service
    1 ts-order-service
    2 ts-payment-service
  3 ts-notification-service async
  3 ts-user-service
op rebook 0.3
ts-rebook-service
  1 ts-order-service
  1 ts-order-other-service x0.3
  2 ts-travel-service
    1 ts-route-service
  2 ts-travel2-service x0.3
    1 ts-route-service
  3 ts-seat-service
    1 ts-travel-service
      1 ts-train-service
    1 ts-travel2-service x0.3
      1 ts-train-service
    1 ts-config-service
  3 ts-station-service
  4 ts-inside-payment-service
    1 ts-order-service
    2 ts-payment-service
op execute 0.5
ts-execute-service
  1 ts-order-service
  1 ts-order-other-service x0.3
op voucher 0.2
ts-voucher-service
  1 ts-order-service
  1 ts-order-other-service x0.3
op food-menu 1
ts-food-service
  1 ts-food-map-service
  1 ts-station-service x2
  2 ts-travel-service
    1 ts-route-service
op consign 0.3
ts-consign-service
  1 ts-consign-price-service
op admin-basic 0.1
ts-admin-basic-info-service
  1 ts-config-service
  1 ts-contacts-service
  1 ts-price-service
  1 ts-station-service
  1 ts-train-service
op admin-order 0.1
ts-admin-order-service
  1 ts-order-service
  1 ts-order-other-service
op admin-route 0.1
ts-admin-route-service
  1 ts-route-service
op admin-travel 0.1
ts-admin-travel-service
  1 ts-travel-service
  1 ts-travel2-service
op admin-user 0.1
ts-admin-user-service
  1 ts-user-service
op basic-query 0.5
ts-basic-service
  1 ts-station-service
  1 ts-train-service
  1 ts-route-service
  1 ts-price-service
op contacts 1
ts-contacts-service
op assurance-types 0.3
ts-assurance-service
op avatar 0.3
ts-avatar-service
op news 0.5
ts-news-service
op ticket-office 0.2
ts-ticket-office-service
";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn csv_pairs(text: &str) -> BTreeSet<(String, String)> {
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (a, b) = l.split_once(',').unwrap();
                (a.trim().to_string(), b.trim().to_string())
            })
            .collect()
    }

    #[test]
    fn topologies_match_the_projects_sources() {
        let cases = [
            (
                bookinfo(),
                include_str!("../../data/apps/bookinfo-calls.csv"),
            ),
            (
                online_boutique(),
                include_str!("../../data/apps/online-boutique-calls.csv"),
            ),
            (
                sock_shop(),
                include_str!("../../data/apps/sock-shop-calls.csv"),
            ),
            (
                train_ticket(),
                include_str!("../../data/apps/train-ticket-calls.csv"),
            ),
        ];
        for (spec, csv) in cases {
            let got: BTreeSet<(String, String)> = spec.call_edges().into_iter().collect();
            assert_eq!(got, csv_pairs(csv), "{}", spec.name);
        }
        assert_eq!(online_boutique().services.len(), 10);
        assert_eq!(online_boutique().call_edges().len(), 14);
        assert_eq!(sock_shop().services.len(), 14);
        assert_eq!(train_ticket().services.len(), 41);
        assert_eq!(train_ticket().call_edges().len(), 95);
    }

    #[test]
    fn train_ticket_roots_are_gateway_routes() {
        let routes: BTreeSet<String> = include_str!("../../data/apps/train-ticket-services.csv")
            .lines()
            .skip(1)
            .filter_map(|l| {
                l.split_once(',')
                    .filter(|(_, r)| r.trim() == "true")
                    .map(|(s, _)| s.to_string())
            })
            .collect();
        assert_eq!(routes.len(), 38);
        let spec = train_ticket();
        let all: BTreeSet<String> = include_str!("../../data/apps/train-ticket-services.csv")
            .lines()
            .skip(1)
            .map(|l| l.split_once(',').unwrap().0.to_string())
            .collect();
        let ours: BTreeSet<String> = spec.services.iter().map(|s| s.name.clone()).collect();
        assert_eq!(ours, all);
        for op in &spec.operations {
            let root = &op.calls.iter().find(|c| c.tag == "1").unwrap().service;
            assert!(
                routes.contains(root),
                "{}: root {root} is not routed by the gateway",
                op.name
            );
        }
    }
}
