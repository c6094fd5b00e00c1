//! Temporary probe (deleted before report).
#![allow(missing_docs)]
use std::time::Instant;
fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut t_start = Vec::new(); let mut t_req = Vec::new(); let mut t_drop = Vec::new();
    for _ in 0..200 {
        rt.block_on(async {
            let a = Instant::now();
            let toss = fake_toss::FakeToss::start().await;
            let b = Instant::now();
            let r = client.get(format!("{}/v1/payments/x", toss.uri())).header("authorization", toss.authorization()).send().await.unwrap();
            assert_eq!(r.status(), 404);
            let c = Instant::now();
            drop(toss);
            let d = Instant::now();
            t_start.push(b - a); t_req.push(c - b); t_drop.push(d - c);
        });
    }
    for (n, v) in [("start", &mut t_start), ("req", &mut t_req), ("drop", &mut t_drop)] {
        v.sort(); println!("{n}: median {:?} p10 {:?} p90 {:?}", v[v.len()/2], v[v.len()/10], v[v.len()*9/10]);
    }
}
