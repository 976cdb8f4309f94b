use std::path::Path;

use nightshift_tasks::registry::VERCEL_JSON;

use super::yaml::{Node, s};
use super::*;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn shipped() -> Node {
    template::build(&input(VERCEL_JSON).unwrap())
}

fn get_att(resource: &str) -> Node {
    yaml::map([("Fn::GetAtt", yaml::list([s(resource), s("Arn")]))])
}

#[test]
fn the_committed_template_is_what_vercel_json_gives() {
    let committed = std::fs::read_to_string(repo().join(TEMPLATE_PATH)).unwrap_or_default();
    let rendered = render(VERCEL_JSON).unwrap();
    if committed != rendered {
        panic!(
            "{TEMPLATE_PATH} differs from what `nightshift deploy aws-template` renders from vercel.json now; \
             regenerate it:\n  {REGENERATE}"
        );
    }
}

#[test]
fn one_schedule_per_route_as_vercel_json_says() {
    let t = shipped();
    let want = [
        ("Hourly", "/api/cron/hourly", "cron(0 * * * ? *)", 1800, 300),
        ("Daily", "/api/cron/daily", "cron(0 2 * * ? *)", 43_200, 800),
        (
            "Weekly",
            "/api/cron/weekly",
            "cron(0 9 ? * MON *)",
            86_400,
            800,
        ),
    ];
    for (name, path, expr, age, timeout) in want {
        let p = |suffix: &str, rest: &[&str]| {
            let mut keys = vec!["Resources".to_owned(), format!("{name}{suffix}")];
            keys.extend(rest.iter().map(|k| k.to_string()));
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            t.at(&keys)
                .cloned()
                .unwrap_or_else(|| panic!("no {keys:?}"))
        };
        let props = ["Properties"];
        assert_eq!(p("Schedule", &["Type"]), s("AWS::Scheduler::Schedule"));
        let sched = |k: &str| p("Schedule", &[props[0], k]);
        assert_eq!(sched("ScheduleExpression"), s(expr), "{path}");
        assert_eq!(sched("ScheduleExpressionTimezone"), s("UTC"));
        assert_eq!(sched("FlexibleTimeWindow"), yaml::map([("Mode", s("OFF"))]));
        let target = sched("Target");
        assert_eq!(
            target.get("Arn"),
            Some(&get_att(&format!("{name}Function")))
        );
        assert_eq!(target.get("RoleArn"), Some(&get_att("SchedulerRole")));
        assert_eq!(
            target.at(&["DeadLetterConfig", "Arn"]),
            Some(&get_att("DeadLetterQueue"))
        );
        assert_eq!(
            target.at(&["RetryPolicy", "MaximumEventAgeInSeconds"]),
            Some(&yaml::int(age))
        );
        // The input is the scheduled event the function takes (lambda.rs).
        let event: serde_json::Value =
            serde_json::from_str(target.get("Input").and_then(Node::as_str).unwrap()).unwrap();
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["time"], "<aws.scheduler.scheduled-time>");
        // The function's timeout is vercel.json's maxDuration; Lambda's own
        // retry window stays within its six hours.
        assert_eq!(
            p("Function", &["Properties", "Timeout"]),
            yaml::int(timeout)
        );
        let invoke = p("Function", &["Properties", "EventInvokeConfig"]);
        assert_eq!(invoke.get("MaximumRetryAttempts"), Some(&yaml::int(1)));
        assert_eq!(
            invoke.get("MaximumEventAgeInSeconds"),
            Some(&yaml::int(age.min(21_600)))
        );
        assert_eq!(
            p("Function", &["Metadata", "BuildProperties", "Binary"]),
            s(name.to_lowercase())
        );
        assert_eq!(
            p("ApiRoute1", &["Properties", "RouteKey"]),
            s(format!("ANY {path}"))
        );
    }
    let schedules: Vec<&str> = t
        .get("Resources")
        .unwrap()
        .keys()
        .into_iter()
        .filter(|k| k.ends_with("Schedule"))
        .collect();
    assert_eq!(
        schedules,
        ["HourlySchedule", "DailySchedule", "WeeklySchedule"]
    );
}

#[test]
fn scheduler_may_invoke_the_three_routes_and_write_the_queue_nothing_else() {
    let t = shipped();
    let role = t.at(&["Resources", "SchedulerRole", "Properties"]).unwrap();
    let trust = role.at(&["AssumeRolePolicyDocument", "Statement"]).unwrap();
    let Node::List(trust) = trust else {
        panic!("{trust:?}")
    };
    assert_eq!(trust.len(), 1);
    assert_eq!(
        trust[0].at(&["Principal", "Service"]),
        Some(&s("scheduler.amazonaws.com"))
    );
    assert_eq!(
        trust[0].at(&["Condition", "StringEquals", "aws:SourceAccount"]),
        Some(&yaml::map([("Ref", s("AWS::AccountId"))]))
    );
    let Some(Node::List(policies)) = role.get("Policies") else {
        panic!("{role:?}")
    };
    assert_eq!(policies.len(), 1, "one inline policy, no managed ones");
    assert_eq!(role.get("ManagedPolicyArns"), None);
    let Some(Node::List(statements)) = policies[0].at(&["PolicyDocument", "Statement"]) else {
        panic!("{policies:?}")
    };
    let grants: Vec<(&str, Node)> = statements
        .iter()
        .map(|st| {
            assert_eq!(st.get("Effect"), Some(&s("Allow")));
            (
                st.get("Action").and_then(Node::as_str).unwrap(),
                st.get("Resource").cloned().unwrap(),
            )
        })
        .collect();
    let routes = yaml::list(["HourlyFunction", "DailyFunction", "WeeklyFunction"].map(get_att));
    assert_eq!(
        grants,
        [
            ("lambda:InvokeFunction", routes),
            ("sqs:SendMessage", get_att("DeadLetterQueue"))
        ],
        "not the status function, no wildcard"
    );
}

#[test]
fn secrets_are_resolved_references_never_values_or_outputs() {
    let t = shipped();
    let vars = t
        .at(&["Globals", "Function", "Environment", "Variables"])
        .unwrap();
    for key in ["CRON_SECRET", "DATABASE_URL"] {
        let sub = vars.at(&[key, "Fn::Sub"]).and_then(Node::as_str).unwrap();
        assert_eq!(
            sub,
            format!("{{{{resolve:secretsmanager:${{SecretName}}:SecretString:{key}}}}}")
        );
    }
    let outputs = format!("{:?}", t.get("Outputs").unwrap());
    assert!(
        !outputs.contains("resolve:") && !outputs.contains("SecretName"),
        "{outputs}"
    );
    // Only the status function has a Function URL, and it authenticates itself.
    let text = render(VERCEL_JSON).unwrap();
    assert_eq!(text.matches("FunctionUrlConfig:").count(), 1, "{text}");
    assert_eq!(
        t.at(&[
            "Resources",
            "StatusFunction",
            "Properties",
            "FunctionUrlConfig",
            "AuthType"
        ]),
        Some(&s("NONE"))
    );
}

#[test]
fn a_route_s_zone_is_the_schedule_s_time_zone() {
    // vercel.json's `schedules`, the daily route at 02:00 in Kolkata.
    let mut v: serde_json::Value = serde_json::from_str(VERCEL_JSON).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("crons");
    o.remove("schedules");
    o.insert(
        "schedules".into(),
        serde_json::json!([
            {"name": "hourly", "schedule": "0 * * * *", "path": "/api/cron/hourly"},
            {"name": "daily", "schedule": "0 2 * * *", "timezone": "Asia/Kolkata", "path": "/api/cron/daily"},
            {"name": "weekly", "schedule": "0 9 * * 1", "timezone": "UTC", "path": "/api/cron/weekly"},
        ]),
    );
    let inp = input(&v.to_string()).unwrap();
    assert_eq!(inp.routes[0].zone, chrono_tz::UTC);
    assert_eq!(inp.routes[1].zone, chrono_tz::Asia::Kolkata);
    let t = template::build(&inp);
    let props = t.at(&["Resources", "DailySchedule", "Properties"]).unwrap();
    assert_eq!(
        props.get("ScheduleExpressionTimezone"),
        Some(&s("Asia/Kolkata"))
    );
    assert_eq!(
        props.get("Description"),
        Some(&s(
            "/api/cron/daily at 0 2 * * * Asia/Kolkata (vercel.json)"
        ))
    );
}

#[test]
fn max_event_age_is_half_the_shortest_gap_within_scheduler_s_bounds() {
    let age = |e: &str| max_event_age(&Schedule::parse(e).unwrap());
    assert_eq!(age("*/15 * * * *"), 450);
    assert_eq!(age("* * * * *"), 60);
    // Weekdays at 06:30: the shortest gap is a day, not the weekend's three.
    assert_eq!(age("30 6 * * 1-5"), 43_200);
    assert_eq!(age("0 0 1 1 *"), 86_400);
}

#[test]
fn what_cannot_be_deployed_is_refused_naming_it() {
    let both = VERCEL_JSON.replace("\"0 2 * * *\"", "\"0 2 1 * 1\"");
    let e = render(&both).unwrap_err();
    assert!(
        e.contains("/api/cron/daily") && e.contains("both the day of the month"),
        "{e}"
    );
    let long = VERCEL_JSON.replace("\"maxDuration\": 800", "\"maxDuration\": 901");
    assert!(render(&long).unwrap_err().contains("1 to 900 s"));
}

#[test]
fn check_reports_a_stale_template_and_how_to_regenerate_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy/aws")).unwrap();
    // No template: a project that does not deploy on AWS hears nothing.
    std::fs::write(dir.path().join("vercel.json"), VERCEL_JSON).unwrap();
    assert!(check_template(dir.path()).is_empty());
    std::fs::write(dir.path().join(TEMPLATE_PATH), render(VERCEL_JSON).unwrap()).unwrap();
    assert!(check_template(dir.path()).is_empty());
    let moved = VERCEL_JSON.replace("\"0 2 * * *\"", "\"30 3 * * *\"");
    std::fs::write(dir.path().join("vercel.json"), moved).unwrap();
    let problems = check_template(dir.path());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].what, TEMPLATE_PATH);
    assert!(problems[0].fix.contains(REGENERATE), "{}", problems[0].fix);
}
