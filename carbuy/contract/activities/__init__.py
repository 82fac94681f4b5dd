"""Activity names and their input/result models: the workflow calls activities by these names only.

Workflows never import activity modules (they hold HTTP and database clients); the activities
register themselves under these names and the workflow tests stub them by the same names.
"""

from carbuy.contract.activities.battery import BatteryContractRef, BatteryContractResult, CreateBatteryContractInput
from carbuy.contract.activities.carrier import (
    BookShipmentInput,
    BookShipmentResult,
    CancelShipmentInput,
    CancelShipmentResult,
)
from carbuy.contract.activities.insurer import BindPolicyInput, BindPolicyResult, CancelPolicyInput, CancelPolicyResult
from carbuy.contract.activities.inventory import (
    ReleaseVehicleInput,
    ReleaseVehicleResult,
    ReserveVehicleInput,
    ReserveVehicleResult,
)
from carbuy.contract.activities.lender import (
    ApplyForLoanInput,
    ApplyForLoanResult,
    CancelLoanInput,
    CancelLoanResult,
    DisburseLoanInput,
    DisburseLoanResult,
    SubmitLoanDocumentsInput,
    SubmitLoanDocumentsResult,
)
from carbuy.contract.activities.names import Activity, Keyed
from carbuy.contract.activities.notifications import SendNotificationInput, SendNotificationResult
from carbuy.contract.activities.payments import ChargeInput, ChargeResult, RefundInput, RefundResult
from carbuy.contract.activities.registry import SubmitRegistrationInput, SubmitRegistrationResult
from carbuy.contract.activities.stores import BookFirstServiceInput, BookFirstServiceResult

__all__ = [
    "Activity",
    "Keyed",
    "ChargeInput",
    "ChargeResult",
    "RefundInput",
    "RefundResult",
    "ReserveVehicleInput",
    "ReserveVehicleResult",
    "ReleaseVehicleInput",
    "ReleaseVehicleResult",
    "ApplyForLoanInput",
    "ApplyForLoanResult",
    "DisburseLoanInput",
    "DisburseLoanResult",
    "SubmitLoanDocumentsInput",
    "SubmitLoanDocumentsResult",
    "CancelLoanInput",
    "CancelLoanResult",
    "CreateBatteryContractInput",
    "BatteryContractResult",
    "BatteryContractRef",
    "BindPolicyInput",
    "BindPolicyResult",
    "CancelPolicyInput",
    "CancelPolicyResult",
    "BookShipmentInput",
    "BookShipmentResult",
    "CancelShipmentInput",
    "CancelShipmentResult",
    "SubmitRegistrationInput",
    "SubmitRegistrationResult",
    "BookFirstServiceInput",
    "BookFirstServiceResult",
    "SendNotificationInput",
    "SendNotificationResult",
]
