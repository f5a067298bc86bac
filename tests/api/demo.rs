//! `podium demo` gives a new user real standings at once.

use serde_json::Value;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn the_demo_loads_running_challenges_with_real_standings() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let summary = podium::demo::load_demo(&mut app.connect()).expect("the demo loads");
    assert!(summary.sales > 400);
    assert!(
        podium::demo::load_demo(&mut app.connect()).is_err(),
        "never twice into the same database"
    );
    let log = app
        .get_json(&admin, "/api/v1/audit?action=installation.demo_loaded")
        .await;
    assert_eq!(
        log["total"], 1,
        "one entry for the load, none for the refusal"
    );
    assert_eq!(log["items"][0]["actor_kind"], "system");

    let challenges: Value = app
        .get_json(&admin, "/api/v1/challenges?status=running")
        .await;
    assert_eq!(
        challenges["total"], 3,
        "two running on, one whose period is over"
    );
    for challenge in challenges["items"].as_array().expect("items") {
        let id = challenge["id"].as_str().expect("id");
        let page: Value = app
            .get_json(&admin, &format!("/api/v1/challenges/{id}/standings"))
            .await;
        assert_eq!(page["total"], 9, "seven reps and two distributor reps");
        assert_eq!(page["items"][0]["rank"], 1);
    }

    // The demo's people can sign in and see their part.
    let julie = app
        .sign_in("julie.moreau@podium.local", podium::demo::DEMO_PASSWORD)
        .await;
    let me: Value = app
        .get("/api/v1/me")
        .bearer_auth(&julie)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["role"], "participant");
    let partner = app
        .sign_in("partner@dupont.example", podium::demo::DEMO_PASSWORD)
        .await;
    let sales: Value = app
        .get("/api/v1/sales")
        .bearer_auth(&partner)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let total = sales["total"].as_i64().expect("total");
    assert!(
        total > 0 && total < summary.sales as i64,
        "a partner sees only its own organisation's sales"
    );
}
