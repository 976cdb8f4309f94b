//! A revoked key (Resend answering 401) stops the e-mail channel for the run:
//! no attempt is burnt, one alert names RESEND_API_KEY, the health check says
//! so, Slack still goes out, and everything is sent once the key works.

use nightshift_tasks::weekly::health_check;

use super::*;

async fn alerts(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT title, status FROM alerts WHERE kind = 'delivery_auth_refused'")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_refused_key_holds_its_channel_back_not_the_messages(pool: PgPool) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"message": "API key is invalid"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    for i in 0..12 {
        enqueue(&pool, &format!("e{i}"), "email", "ops@example.com").await;
    }
    enqueue(&pool, "s", "slack", "slack").await;
    let cfg = cfg(DeliveryConfig {
        resend_api_key: Some(SecretString::from("re_revoked".to_owned())),
        resend_api_url: server.uri(),
        slack_webhook_url: Some(SecretString::from(format!("{}/hook", server.uri()))),
        ..DeliveryConfig::default()
    });
    let report = deliver(&pool, t0(), &cfg).await;
    assert!(
        report
            .warning
            .as_deref()
            .unwrap_or_default()
            .contains("RESEND_API_KEY was refused"),
        "{report:?}"
    );
    let calls = server.received_requests().await.unwrap();
    let to_resend = calls.iter().filter(|r| r.url.path() == "/emails").count();
    assert!(
        (1..=4).contains(&to_resend),
        "the channel stops after the first refusal (in flight at most 4): {to_resend}"
    );
    for i in 0..12 {
        let r = row(&pool, &format!("e{i}")).await;
        assert_eq!((r.status.as_str(), r.attempts), ("pending", 0), "e{i}");
    }
    assert_eq!(row(&pool, "s").await.status, "sent");
    let open = alerts(&pool).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(
        open[0].0.starts_with("RESEND_API_KEY was refused"),
        "{open:?}"
    );

    let health = health_check::assess(&pool, &nightshift_tasks::specs(), t0(), &cfg.delivery)
        .await
        .unwrap();
    assert!(
        health
            .reasons
            .iter()
            .any(|r| r.contains("RESEND_API_KEY was refused")),
        "{:?}",
        health.reasons
    );

    // The key is fixed: the same rows go out, the alert resolves.
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "x"})))
        .mount(&server)
        .await;
    deliver(&pool, t0() + Duration::minutes(1), &cfg).await;
    for i in 0..12 {
        let r = row(&pool, &format!("e{i}")).await;
        assert_eq!((r.status.as_str(), r.attempts), ("sent", 1), "e{i}");
    }
    assert_eq!(alerts(&pool).await[0].1, "resolved");
}
