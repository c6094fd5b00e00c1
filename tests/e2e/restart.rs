use crate::common::*;
use payments::core::records::VendorCode;
use std::time::Duration;

#[tokio::test]
async fn server_stopped_mid_outbox_delivers_after_restart_and_nothing_twice() {
    let app = spawn_app().await;
    app.receiver.set_up(false);
    let mut uids = Vec::new();
    for n in 0..3 {
        let order = format!("restart-{n}");
        let uid = app.iamport_vbank(&order, 10_000 + n).await;
        app.client
            .histories()
            .create(&app.history_input(VendorCode::Iamport, &uid, &order, 10_000 + n))
            .await
            .unwrap();
        uids.push(uid);
    }
    for uid in &uids {
        app.iamport.deposit(uid).await.unwrap();
    }
    // Wait until the server has the deliveries queued and failing.
    for _ in 0..300 {
        if app.receiver.refused() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.receiver.refused() >= 3);
    let TestApp {
        toss,
        iamport,
        server,
        receiver,
        database,
        _dir: dir,
        ..
    } = app;
    server.shutdown().await;

    receiver.set_up(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        receiver.received().is_empty(),
        "nothing is delivered while the server is down"
    );

    let server = server_builder(&toss, &iamport, &database)
        .start()
        .await
        .unwrap();
    let received = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let received_now = receiver.received();
    assert_eq!(received_now.len(), 3, "each webhook delivered exactly once");
    let mut ids: Vec<_> = received.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // The records written before the restart still open under the same data key.
    let client = client_for(&server, Wire::SealedV2);
    let history = client
        .histories()
        .get(&accessor("restart-0"))
        .await
        .unwrap();
    assert!(history.paid_at.is_some());
    server.shutdown().await;
    drop(dir);
}
