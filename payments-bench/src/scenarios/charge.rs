//! `charge`: billing-key charges through `POST /payments/charges`. The SDK has no
//! `charges()` yet (the route is being added), so the row says so instead of measuring.

use crate::options::Scenario;
use crate::report::Row;

/// The charge row: `n/a (route not present)` until `PaymentsClient::charges()` exists.
pub fn run() -> Vec<Row> {
    vec![Row::skipped(
        Scenario::Charge,
        "charge",
        "n/a (route not present)",
    )]
}
