//! The people and projects of the synthetic organisation.
//!
//! Ids are chosen here, not by the database, so that a seed run is fully
//! determined by (seed, now, sizes): on an empty database the first user is
//! id 1 whatever state the identity sequences are in (a rolled-back seed
//! still advances them). The command sets the sequences past these ids after.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::words::{FIRST_NAMES, LAST_NAMES, PROJECT_AREAS, PROJECT_KINDS};

/// Engineers per manager is ~7 (6 to 8 once the teams are dealt out).
const TEAM_SIZE: usize = 7;
/// Managers per director.
const DIRECTOR_SPAN: usize = 8;

pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    /// `first-last-id`, lower case: unique, and valid for the CHECK.
    pub github_login: String,
    /// A manager's team, shared by their engineers; none above them.
    pub team: Option<String>,
    pub role: &'static str,
    pub manager_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub struct Project {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    /// Index into `Org::teams`: the owner's engineers get most of its bugs.
    pub team: usize,
    pub github_repo: Option<String>,
    pub confidential: bool,
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
}

pub struct Org {
    pub users: Vec<User>,
    pub projects: Vec<Project>,
    /// Engineer ids, one list per manager, in manager order.
    pub teams: Vec<Vec<i64>>,
    pub engineers: Vec<i64>,
}

impl Org {
    pub fn count_role(&self, role: &str) -> usize {
        self.users.iter().filter(|u| u.role == role).count()
    }
}

/// About one engineer per 40 bugs: enough that workloads look plausible, and
/// bounded so a huge seed does not produce an absurd company.
pub fn engineer_count(bugs: u64) -> usize {
    (bugs / 40).clamp(12, 3000) as usize
}

/// `user_base` is the largest user id already in use (0 on an empty
/// database); new users follow it. Projects are numbered from 1.
pub fn generate(
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    projects: usize,
    bugs: u64,
    user_base: i64,
) -> Org {
    let engineers = engineer_count(bugs);
    let managers = (engineers as f64 / TEAM_SIZE as f64).round().max(1.0) as usize;
    let directors = managers.div_ceil(DIRECTOR_SPAN);

    // Parents are created before their reports, so every manager_id points
    // at a lower id (COPY checks the foreign key either way).
    let mut users = Vec::with_capacity(1 + directors + managers + engineers);
    let mut next_id = user_base;
    let mut person = |rng: &mut ChaCha8Rng, role: &'static str, manager_id: Option<i64>| {
        next_id += 1;
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        // The id makes the email unique even when two people share a name.
        let email = format!(
            "{}.{}.{next_id}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        );
        let age = Duration::days(rng.random_range(200..2000)) + random_secs(rng, 86_400);
        users.push(User {
            id: next_id,
            name: format!("{first} {last}"),
            email,
            github_login: login_of(first, last, next_id),
            team: None,
            role,
            manager_id,
            created_at: now - age,
        });
        next_id
    };

    let cto = person(rng, "executive", None);
    let director_ids: Vec<i64> = (0..directors)
        .map(|_| person(rng, "director", Some(cto)))
        .collect();
    // Dealt round-robin so spans and teams differ in size by at most one.
    let manager_ids: Vec<i64> = (0..managers)
        .map(|m| person(rng, "manager", Some(director_ids[m % directors])))
        .collect();
    let mut teams = vec![Vec::new(); managers];
    let mut engineer_ids = Vec::with_capacity(engineers);
    for e in 0..engineers {
        let id = person(rng, "engineer", Some(manager_ids[e % managers]));
        teams[e % managers].push(id);
        engineer_ids.push(id);
    }

    name_teams(&mut users, user_base, &manager_ids, &teams);

    let projects = make_projects(rng, now, projects, &manager_ids);
    Org {
        users,
        projects,
        teams,
        engineers: engineer_ids,
    }
}

/// Letters and digits of the name, hyphen-joined, then the id: the word
/// lists are ASCII, but anything else would still make a valid login.
fn login_of(first: &str, last: &str, id: i64) -> String {
    let part = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    format!("{}-{}-{id}", part(first), part(last))
}

/// "Team <manager's last name>", numbered from the second team whose
/// manager shares the name ("Team Silva 2"), so teams never merge. Derived
/// from the names already drawn: no random draw is added, and a seed's
/// other rows stay what they were.
fn name_teams(users: &mut [User], user_base: i64, manager_ids: &[i64], teams: &[Vec<i64>]) {
    let at = |id: i64| (id - user_base - 1) as usize;
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for (m, &manager) in manager_ids.iter().enumerate() {
        let last = users[at(manager)]
            .name
            .rsplit(' ')
            .next()
            .unwrap_or("")
            .to_owned();
        let n = seen.entry(last.clone()).or_default();
        *n += 1;
        let team = match *n {
            1 => format!("Team {last}"),
            n => format!("Team {last} {n}"),
        };
        for &id in teams[m].iter().chain([&manager]) {
            users[at(id)].team = Some(team.clone());
        }
    }
}

fn make_projects(
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    count: usize,
    manager_ids: &[i64],
) -> Vec<Project> {
    let mut names: Vec<String> = PROJECT_AREAS
        .iter()
        .flat_map(|a| PROJECT_KINDS.iter().map(move |k| format!("{a} {k}")))
        .collect();
    names.shuffle(rng);
    (0..count)
        .map(|k| {
            // Past the list, "Payments API 2", "Payments API 3"...: each cycle
            // has its own suffix, so names stay unique.
            let name = match k / names.len() {
                0 => names[k].clone(),
                cycle => format!("{} {}", names[k % names.len()], cycle + 1),
            };
            let team = rng.random_range(0..manager_ids.len());
            // A third are linked to a repository; sync stays off because no
            // real GitHub is behind "acme".
            let github_repo = rng.random_bool(1.0 / 3.0).then(|| {
                let slug: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '-'
                        }
                    })
                    .collect();
                format!("acme/{slug}")
            });
            let status = match rng.random::<f64>() {
                x if x < 0.88 => "active",
                x if x < 0.96 => "paused",
                _ => "archived",
            };
            let age = Duration::days(rng.random_range(95..1200)) + random_secs(rng, 86_400);
            Project {
                id: 1 + k as i64,
                name,
                owner_id: manager_ids[team],
                team,
                github_repo,
                // "A few", and predictably so: one in sixteen, the first at
                // index 5 so a default seed (25 projects) has two.
                confidential: k % 16 == 5,
                status,
                created_at: now - age,
            }
        })
        .collect()
}

pub fn random_secs(rng: &mut ChaCha8Rng, max: i64) -> Duration {
    Duration::seconds(rng.random_range(0..max))
}
