"""A simulated operator's hand holding a certified check weight (for the routine balance check).

``place()``/``remove()`` put the weight on the simulated balance's pan and take
it off, as a test or a person at the terminal would. With ``auto`` the hand
follows printpharm's guided check by itself (the option ``check_weight_g=<grams>``
of ``sim://balance`` turns this on): the check starts by clearing the pan and
zeroing (``Z``), which arms the hand; from then on, after every stable ``S``
reading it puts the weight on if the pan was empty and takes it off if it was
loaded. A tare (``T``, which a print run sends before each unit) clears the pan
and disarms it, so the weight never lands on a printed unit.
The weight's true mass is ``weight_g`` — give it a value off the certificate's
conventional mass to simulate a balance or a weight out of tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CheckWeightHand"]


@dataclass
class CheckWeightHand:
    """The check weight (true mass in g), whether it is on the pan, and the auto hand."""

    weight_g: float = 0.0
    auto: bool = False
    on_pan: bool = False
    armed: bool = False
    placements: int = 0

    @property
    def load_g(self) -> float:
        """What the hand's weight adds to the pan now, in g."""
        return self.weight_g if self.on_pan else 0.0

    def place(self, weight_g: float | None = None) -> None:
        """Put the weight (``weight_g`` if given) on the pan."""
        if weight_g is not None:
            self.weight_g = weight_g
        self.on_pan = True
        self.placements += 1

    def remove(self) -> None:
        """Take the weight off the pan."""
        self.on_pan = False

    def on_zero(self) -> None:
        """The pan is cleared for zeroing; an auto hand is armed for the check."""
        if self.auto:
            self.on_pan, self.armed = False, True

    def on_tare(self) -> None:
        """A tare (a print run's unit): an auto hand clears the pan and stands down."""
        if self.auto:
            self.on_pan, self.armed = False, False

    def after_stable_reading(self) -> bool:
        """The auto hand's move after a stable reading; whether the load changed."""
        if not self.auto or not self.armed or self.weight_g <= 0:
            return False
        if self.on_pan:
            self.remove()
        else:
            self.place()
        return True
