"""Errors of model use, in a leaf module so the loader, generation and remote models share them."""


from studio.util.errors import UserError


class GenerationError(UserError, ValueError):
    """A request cannot be answered: too long, unknown model, a provider's refusal; the message says why."""
