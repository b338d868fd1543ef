"""Who may see what. Every view looks objects up through these helpers, so finer roles
(unit staff, reviewers, managers) change one place."""

from django.http import Http404

from budget.models import Agency


def agencies_for_user(user):
    # Every signed-in user may read every agency's reports until roles arrive (see ROADMAP).
    if not user.is_authenticated:
        return Agency.objects.none()
    return Agency.objects.all()


def get_agency_for_user(user, code: str) -> Agency:
    agency = agencies_for_user(user).filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    return agency
