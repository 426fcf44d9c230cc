"""The workspace: where people act on what the pipeline could not decide.

The task inbox and the task page (the original beside what was read), the supplier page
with what corrections taught, and the page images and field boxes those pages show.
Server-rendered (Jinja2) with one small static script; it reads and writes through
`storage/` only, always through the user's `storage.scope.Scope`.
"""
