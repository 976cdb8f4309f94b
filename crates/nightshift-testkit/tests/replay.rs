use std::time::{Duration, Instant};

use nightshift_testkit::{Canned, Replay, synthetic_issues};
use serde_json::Value;

const PAGINATED: &str =
    "/repos/octokit-fixture-org/tmp-scenario-paginate-issues-20220719043836917-izyoe/issues";
const HELLO: &str = "/repos/octokit-fixture-org/hello-world";

/// The `rel="next"` target of a `Link` header, if any.
fn next_link(resp: &reqwest::Response) -> Option<String> {
    let link = resp.headers().get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    Some(resp.headers().get(name)?.to_str().ok()?.to_string())
}

/// Follows `Link` rel="next" from `first`, returning every page's response
/// headers (link, etag) and items.
async fn walk(first: String) -> Vec<(Option<String>, Option<String>, Vec<Value>)> {
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next {
        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        next = next_link(&resp);
        let meta = (header(&resp, "link"), header(&resp, "etag"));
        let items: Vec<Value> = resp.json().await.unwrap();
        pages.push((meta.0, meta.1, items));
        assert!(pages.len() <= 10, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn recording_is_paginated_through_rewritten_links() {
    let replay = Replay::start().await;
    // The client asks for 100 per page; the recording used 3: ignored.
    let pages = walk(format!(
        "{}{PAGINATED}?per_page=100&state=all",
        replay.url()
    ))
    .await;

    assert_eq!(pages.len(), 5);
    let numbers: Vec<u64> = pages
        .iter()
        .flat_map(|(_, _, items)| items.iter().map(|i| i["number"].as_u64().unwrap()))
        .collect();
    assert_eq!(numbers, (1..=13).rev().collect::<Vec<_>>());
    for (link, etag, items) in &pages {
        let link = link.as_deref().unwrap();
        assert!(link.contains(&replay.url()) && !link.contains("api.github.com"));
        assert!(etag.is_some());
        let url = items[0]["url"].as_str().unwrap();
        assert!(url.starts_with(&replay.url()), "body not rewritten: {url}");
    }
    let paths: Vec<String> = replay
        .requests()
        .into_iter()
        .map(|s| s.path_and_query)
        .collect();
    assert_eq!(paths[1], "/repositories/515435940/issues?per_page=3&page=2");
}

#[tokio::test]
async fn matching_etag_gives_304_with_rate_limit_headers() {
    let replay = Replay::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}{HELLO}", replay.url());

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").unwrap();
    assert_eq!(header(&first, "x-ratelimit-remaining").unwrap(), "4962");

    let again = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag").unwrap(), etag);
    assert_eq!(header(&again, "x-ratelimit-remaining").unwrap(), "4962");
    assert!(header(&again, "x-ratelimit-reset").is_some());
    assert!(again.bytes().await.unwrap().is_empty());

    let stale = client
        .get(&url)
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn script_overrides_recording_then_recording_returns() {
    let replay = Replay::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}{HELLO}", replay.url());
    let busy = serde_json::json!({"message": "Server Error"});
    replay.script(HELLO, Canned::json(502, busy), Some(2));

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(client.get(&url).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [502, 502, 200]);

    // A delayed script, and the delay really happens.
    replay.script(HELLO, Canned::raw(200, "{}").delay(150), Some(1));
    let started = Instant::now();
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "{}");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn requests_are_recorded_with_headers_and_status() {
    let replay = Replay::start().await;
    let client = reqwest::Client::new();
    client
        .get(format!("{}{HELLO}?per_page=100", replay.url()))
        .header("Authorization", "Bearer t0k3n")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .unwrap();
    let missing = client
        .get(format!("{}/repos/nobody/nothing", replay.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "Not Found");

    let seen = replay.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path_and_query, format!("{HELLO}?per_page=100"));
    assert_eq!(seen[0].status, 200);
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n"));
    assert!(
        seen[0]
            .headers
            .contains(&("x-github-api-version".into(), "2022-11-28".into()))
    );
    assert_eq!(seen[1].status, 404);

    replay.clear_requests();
    assert!(replay.requests().is_empty());
}

#[tokio::test]
async fn synthetic_repository_of_250_issues() {
    let replay = Replay::start().await;
    let routes = synthetic_issues("acme/big", 42, 250, 100, &replay.url());
    assert_eq!(routes.len(), 3);
    for (path, page, resp) in routes {
        replay.add(&path, Some(page), resp);
    }

    let pages = walk(format!(
        "{}/repos/acme/big/issues?per_page=100",
        replay.url()
    ))
    .await;
    let sizes: Vec<usize> = pages.iter().map(|(_, _, items)| items.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let items: Vec<&Value> = pages.iter().flat_map(|(_, _, items)| items).collect();
    let prs = items.iter().filter(|i| i.get("pull_request").is_some());
    assert_eq!(prs.count(), 50);
    assert!(items.iter().any(|i| i["state"] == "closed"));
    assert_eq!(items[0]["number"], 250);
    assert_eq!(
        items[0]["repository_url"],
        format!("{}/repos/acme/big", replay.url())
    );
    // Newest first, so updated_at decreases down the list.
    let updated: Vec<&str> = items
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap())
        .collect();
    assert!(updated.windows(2).all(|w| w[0] > w[1]));
    let etags: std::collections::HashSet<_> = pages.iter().map(|(_, e, _)| e.clone()).collect();
    assert_eq!(etags.len(), 3);

    // Added routes honour If-None-Match too.
    let etag = pages[1].1.clone().unwrap();
    let resp = reqwest::Client::new()
        .get(format!("{}/repositories/42/issues?page=2", replay.url()))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
}

#[tokio::test]
async fn a_trickled_body_arrives_whole_and_slowly_a_cut_one_breaks() {
    let replay = Replay::start().await;
    let body = "x".repeat(1000);
    replay.script("/slow", Canned::raw(200, &body).trickle(250, 50), Some(1));
    replay.script("/cut", Canned::raw(200, &body).cut_after(100), Some(1));
    replay.script("/slow", Canned::raw(200, &body).trickle(250, 50), Some(1));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let slow = client.get(format!("{}/slow", replay.url())).send().await;
    let text = slow.unwrap().text().await.unwrap();
    assert_eq!(text, body);
    // Four chunks, each after a 50 ms pause.
    assert!(started.elapsed() >= Duration::from_millis(200));
    let cut = client.get(format!("{}/cut", replay.url())).send().await;
    // The break may reach the client before or after the head.
    let read = match cut {
        Ok(resp) => resp.text().await.map(|t| t.len()),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "a cut body read whole: {read:?}");
    // Cleared scripts leave the path to the recordings (none here: 404).
    replay.clear_scripts();
    let after = client.get(format!("{}/slow", replay.url())).send().await;
    assert_eq!(after.unwrap().status(), 404);
}

#[tokio::test]
async fn our_recording_with_assignees_is_served_and_readable() {
    const PEOPLE: &str = "/repos/nightshift-fixtures/people/issues";
    let replay = Replay::start().await;
    let pages = walk(format!("{}{PEOPLE}?state=all&per_page=100", replay.url())).await;
    assert_eq!(pages.len(), 1, "one page, no Link");
    let served = &pages[0].2;
    let numbers: Vec<u64> = served
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [7, 6, 5, 4, 3, 2, 1]);
    let several = served.iter().find(|i| i["number"] == 3).unwrap();
    let logins: Vec<&str> = several["assignees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["DAVE", "carol", "Erin"]);

    // The same body, unrewritten, for tests that serve a changed copy.
    let body = nightshift_testkit::recorded_body("issues-with-assignees.json", PEOPLE);
    assert_eq!(body.as_array().unwrap().len(), 7);
    assert!(
        body[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://api.github.com/")
    );
}
