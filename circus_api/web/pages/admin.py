"""Administration pages (global privilege manageServer): shells whose scripts call `/api/admin/...`."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circus_api.web.page import page, render
from circus_api.web.session import Session

ADMIN = "manageServer"


@dataclass(frozen=True)
class AdminSection:
    """One admin page: its path under /admin, its name, a one-line description, its script."""

    slug: str
    title: str
    description: str
    template: str = "admin/list.html"

    @property
    def href(self) -> str:
        return f"/admin/{self.slug}"

    @property
    def script(self) -> str:
        return f"/static/js/pages/admin-{self.slug}.js"


SECTIONS: tuple[AdminSection, ...] = (
    AdminSection("users", "Users", "Accounts: create, edit, reset a password, enable or disable sign-in."),
    AdminSection("groups", "Groups", "Global privileges, DICOM domains, and project and plug-in roles."),
    AdminSection("projects", "Projects", "Case projects: tags, window presets, attribute schemas."),
    AdminSection("plugins", "Plug-ins", "CAD plug-ins and their run configuration: timeout, GPUs, memory, CPUs."),
    AdminSection("job-manager", "Job manager", "Start or stop taking jobs; each manager's heartbeat and running jobs.",
                 template="admin/job-manager.html"),
    AdminSection("queue", "Job queue", "Plug-in jobs waiting or being processed, in queue order."),
    AdminSection("server-params", "Server parameters", "Free-form settings such as the DICOM domains."),
    AdminSection("quarantine", "Import quarantine", "Uploaded files the DICOM importer refused."),
)


def admin_index(request: Request, session: Session) -> Response:
    context = {"title": "Administration", "section": None, "sections": SECTIONS}
    return render(request, session, "admin/index.html", context)


def section_page(section: AdminSection) -> Route:
    def handler(request: Request, session: Session) -> Response:
        context = {"title": section.title, "section": section, "sections": SECTIONS}
        return render(request, session, section.template, context)

    handler.__name__ = "admin_" + section.slug.replace("-", "_")
    return page(section.href, handler, privilege=ADMIN)


ROUTES = [
    page("/admin", admin_index, privilege=ADMIN),
    *(section_page(section) for section in SECTIONS),
]
