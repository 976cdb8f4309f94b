//! Synthetic repositories, for sizes the recordings do not cover.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use crate::Canned;

/// A synthetic repository of `n` issues (numbers 1..=n), paginated like
/// GitHub's `GET /repos/{owner}/{repo}/issues?state=all`: newest first,
/// `per_page` per page, the first page at `/repos/{owner_repo}/issues` and
/// later ones at `/repositories/{repo_id}/issues` (where GitHub's `Link`
/// headers point). Returns `(path, page, response)` for [`crate::Replay::add`].
///
/// Every 5th number is a pull request (`pull_request` object), every 3rd is
/// closed, labels vary with the number, and `updated_at` grows with the
/// number. Each page has a distinct `ETag`, `X-RateLimit-*` headers and,
/// except the last, `Link` `rel="next"` and `rel="last"`. `n = 0` gives a
/// single empty page without `Link`, as GitHub does.
pub fn synthetic_issues(
    owner_repo: &str,
    repo_id: u64,
    n: usize,
    per_page: usize,
    base_url: &str,
) -> Vec<(String, u32, Canned)> {
    let per_page = per_page.max(1);
    let last = n.div_ceil(per_page).max(1);
    // A reset in the future, so clients computing a wait see a sane value.
    let reset = (Utc::now() + Duration::hours(1)).timestamp();
    let page_url =
        |p: usize| format!("{base_url}/repositories/{repo_id}/issues?per_page={per_page}&page={p}");

    (1..=last)
        .map(|page| {
            let newest = n.saturating_sub((page - 1) * per_page);
            let oldest = n.saturating_sub(page * per_page) + 1;
            let items: Vec<Value> = (oldest..=newest)
                .rev()
                .map(|num| issue(owner_repo, repo_id, num as u64, base_url))
                .collect();
            let mut resp = Canned::json(200, Value::Array(items))
                .header("Cache-Control", "private, max-age=60, s-maxage=60")
                .header(
                    "ETag",
                    format!("\"synthetic-{repo_id}-{n}-{per_page}-{page}\""),
                )
                .header("X-RateLimit-Limit", "5000")
                .header("X-RateLimit-Remaining", (5000 - page).to_string())
                .header("X-RateLimit-Reset", reset.to_string())
                .header("X-RateLimit-Used", page.to_string())
                .header("X-RateLimit-Resource", "core");
            if page < last {
                let link = format!(
                    "<{}>; rel=\"next\", <{}>; rel=\"last\"",
                    page_url(page + 1),
                    page_url(last)
                );
                resp = resp.header("Link", link);
            }
            let path = if page == 1 {
                format!("/repos/{owner_repo}/issues")
            } else {
                format!("/repositories/{repo_id}/issues")
            };
            (path, page as u32, resp)
        })
        .collect()
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// One issue (or pull request) object with the fields clients read.
fn issue(owner_repo: &str, repo_id: u64, num: u64, base_url: &str) -> Value {
    let epoch = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let created = epoch + Duration::hours(num as i64);
    let updated = created + Duration::minutes(30);
    let is_pr = num.is_multiple_of(5);
    let closed = num.is_multiple_of(3);
    let closed_at = closed.then(|| timestamp(updated));
    let repo_url = format!("{base_url}/repos/{owner_repo}");
    let url = format!("{repo_url}/issues/{num}");
    let kind = if is_pr { "pull" } else { "issues" };
    let html_url = format!("https://github.com/{owner_repo}/{kind}/{num}");

    let mut names = Vec::new();
    if num.is_multiple_of(2) {
        names.push(("bug", "d73a4a"));
    }
    if num.is_multiple_of(3) {
        names.push(("enhancement", "a2eeef"));
    }
    if num.is_multiple_of(7) {
        names.push(("good first issue", "7057ff"));
    }
    let labels: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, (name, color))| {
            json!({
                "id": repo_id.wrapping_mul(10).wrapping_add(i as u64),
                "name": name,
                "color": color,
                "default": *name == "bug",
                "url": format!("{repo_url}/labels/{}", name.replace(' ', "%20")),
            })
        })
        .collect();
    let login = ["octocat", "hubot", "monalisa"][(num % 3) as usize];

    let mut obj = json!({
        "url": url,
        "repository_url": repo_url,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "html_url": html_url,
        "id": repo_id.wrapping_mul(100_000).wrapping_add(num),
        "node_id": format!("I_synthetic_{repo_id}_{num}"),
        "number": num,
        "title": format!("Synthetic {} #{num}", if is_pr { "pull request" } else { "issue" }),
        "user": { "login": login, "id": 1000 + num % 3, "type": "User" },
        "labels": labels,
        "state": if closed { "closed" } else { "open" },
        "state_reason": if closed { json!("completed") } else { Value::Null },
        "locked": false,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "comments": num % 4,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
        "closed_at": closed_at,
        "author_association": "CONTRIBUTOR",
        "body": format!("Body of synthetic item {num}."),
    });
    if is_pr {
        obj["pull_request"] = json!({
            "url": format!("{repo_url}/pulls/{num}"),
            "html_url": html_url,
            "diff_url": format!("{html_url}.diff"),
            "patch_url": format!("{html_url}.patch"),
            // Closed pull requests count as merged; open ones are not.
            "merged_at": closed_at,
        });
    }
    obj
}
