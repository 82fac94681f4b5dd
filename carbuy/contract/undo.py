"""The undo of each step of a purchase (../shared/domain.md, "Undo of each step"): the saga records them,
ops resolve one that kept failing by its kind and reference."""

from enum import StrEnum


class UndoKind(StrEnum):
    """The undo of each step (../shared/domain.md, "Undo of each step")."""

    REFUND_DEPOSIT = "refund_deposit"
    RELEASE_VEHICLE = "release_vehicle"
    CANCEL_LOAN = "cancel_loan"
    CANCEL_BATTERY_CONTRACT = "cancel_battery_contract"
    CANCEL_POLICY = "cancel_policy"
    CANCEL_SHIPMENT = "cancel_shipment"
    REFUND_BALANCE = "refund_balance"
