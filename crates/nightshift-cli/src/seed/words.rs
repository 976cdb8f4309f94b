//! The word lists the generator draws from. Kept apart from the logic so the
//! generator reads as rules, not as data.
//!
//! Names are plain ASCII so emails built from them need no transliteration.

pub const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Carlos", "Chen", "Chloe", "Daniel",
    "Dmitri", "Elena", "Emeka", "Fatima", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jin",
    "Julia", "Kenji", "Lars", "Leila", "Lucas", "Maya", "Mei", "Nadia", "Noah", "Olga", "Omar",
    "Priya", "Rafael", "Rosa", "Samir", "Sara", "Sofia", "Tariq", "Tomas", "Yara", "Yusuf", "Zoe",
    "Ravi", "Ingrid", "Kofi", "Marta", "Pablo",
];

pub const LAST_NAMES: &[&str] = &[
    "Adeyemi",
    "Andersen",
    "Bauer",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Kumar",
    "Lindqvist",
    "Lopez",
    "Mensah",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Petrov",
    "Quinn",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Torres",
    "Vasquez",
    "Wagner",
    "Walsh",
    "Wong",
    "Yilmaz",
    "Zhang",
    "Ibrahim",
    "Murphy",
    "Nguyen",
    "Horvat",
];

/// Project names are "<area> <kind>"; the cross product gives 24 x 8 = 192
/// names before a numeric suffix is needed.
pub const PROJECT_AREAS: &[&str] = &[
    "Payments",
    "Checkout",
    "Search",
    "Identity",
    "Billing",
    "Inventory",
    "Shipping",
    "Notifications",
    "Analytics",
    "Onboarding",
    "Catalog",
    "Reporting",
    "Messaging",
    "Pricing",
    "Fraud",
    "Ledger",
    "Support",
    "Recommendations",
    "Media",
    "Growth",
    "Scheduling",
    "Reviews",
    "Loyalty",
    "Warehouse",
];

pub const PROJECT_KINDS: &[&str] = &[
    "API", "Web", "iOS", "Android", "Service", "Worker", "Pipeline", "Gateway",
];

/// Bug titles are "<problem> <context>", e.g. "Timeout when exporting invoices".
pub const PROBLEMS: &[&str] = &[
    "Timeout",
    "Crash",
    "Intermittent 500",
    "Memory leak",
    "Slow response",
    "Stale data",
    "Deadlock",
    "Broken layout",
    "Missing translation",
    "Duplicate charge",
    "Wrong totals",
    "Blank page",
    "Session lost",
    "Race condition",
    "Incorrect timezone",
    "Rounding error",
];

pub const CONTEXTS: &[&str] = &[
    "when exporting invoices",
    "on login with SSO",
    "in search results",
    "after password reset",
    "when uploading avatars",
    "on checkout with a saved card",
    "in the admin dashboard",
    "when syncing calendars",
    "during the nightly import",
    "on mobile Safari",
    "with large CSV files",
    "after a deploy",
    "when switching workspaces",
    "in webhook retries",
    "on the pricing page",
    "when applying discount codes",
    "in the weekly report email",
    "when refunding partial orders",
];

/// The one title with markup in it: pages that show bug titles must render
/// it as text, and their tests look for exactly this bug.
pub const HTML_TITLE: &str = "<script>alert(1)</script> in search box";
