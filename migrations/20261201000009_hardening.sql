-- A repository name becomes a path in GitHub API URLs: `../..` or `acme/..`
-- would escape it. GitHub's own limits: owner 39, name 100 characters.
-- Validated (not NOT VALID): a stored name that escapes its path is an
-- attack to look at, so the migration stops on one rather than keep it.
ALTER TABLE projects DROP CONSTRAINT projects_github_repo_check;
ALTER TABLE projects ADD CONSTRAINT projects_github_repo_check CHECK (
    github_repo ~ '^[A-Za-z0-9_.-]{1,39}/[A-Za-z0-9_.-]{1,100}$'
    AND split_part(github_repo, '/', 1) NOT IN ('.', '..')
    AND split_part(github_repo, '/', 2) NOT IN ('.', '..')
);
