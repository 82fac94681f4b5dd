"""The catalogue of models the platform sells: data, not code paths."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CatalogueModel(BaseModel):
    """One model with its fixed online prices (fen) and the trims and colours it comes in."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    name: str
    price_whole_fen: int = Field(gt=0)
    price_battery_lease_fen: int | None = Field(default=None, gt=0)
    battery_monthly_rent_fen: int | None = Field(default=None, gt=0)
    trims: tuple[str, ...]
    colours: tuple[str, ...]
    commercial_premium_rate_bp: int = Field(default=250, description="commercial premium, basis points of price")


class Catalogue(BaseModel):
    """Every model on sale."""

    model_config = ConfigDict(frozen=True)

    models: tuple[CatalogueModel, ...]

    def get(self, model_id: str) -> CatalogueModel | None:
        """The model with this id, if it is on sale."""
        return next((m for m in self.models if m.model_id == model_id), None)


DEFAULT_CATALOGUE = Catalogue(
    models=(
        CatalogueModel(
            model_id="aion-ut-super",
            name="GAC Aion UT super (National Good Car)",
            price_whole_fen=8_990_000,
            price_battery_lease_fen=4_990_000,
            battery_monthly_rent_fen=59_900,
            trims=("standard",),
            colours=("white", "grey", "green", "pink"),
        ),
    )
)
