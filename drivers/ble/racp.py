"""Record Access Control Point 0x2A52 (written with response, answered by indication).

Request: op code, operator, then for filtered operators a filter type and operand (sequence number as
uint16, or user-facing time). Responses: op code 5 "number of stored records" with a uint16 count, or
op code 6 "response code" with operator 0, the request op code and the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from drivers.ble import Reader


class OpCode(IntEnum):
    REPORT_STORED_RECORDS = 1
    DELETE_STORED_RECORDS = 2
    ABORT_OPERATION = 3
    REPORT_NUMBER_OF_STORED_RECORDS = 4
    NUMBER_OF_STORED_RECORDS_RESPONSE = 5
    RESPONSE_CODE = 6


class Operator(IntEnum):
    NULL = 0
    ALL_RECORDS = 1
    LESS_THAN_OR_EQUAL_TO = 2
    GREATER_THAN_OR_EQUAL_TO = 3
    WITHIN_RANGE_OF = 4
    FIRST_RECORD = 5
    LAST_RECORD = 6


class FilterType(IntEnum):
    SEQUENCE_NUMBER = 1
    USER_FACING_TIME = 2


class ResponseCode(IntEnum):
    SUCCESS = 1
    OP_CODE_NOT_SUPPORTED = 2
    INVALID_OPERATOR = 3
    OPERATOR_NOT_SUPPORTED = 4
    INVALID_OPERAND = 5
    NO_RECORDS_FOUND = 6
    ABORT_UNSUCCESSFUL = 7
    PROCEDURE_NOT_COMPLETED = 8
    OPERAND_NOT_SUPPORTED = 9


def _label(enum: type[IntEnum], value: int | None) -> str | None:
    if value is None:
        return None
    try:
        return enum(value).name.lower()
    except ValueError:
        return f"reserved_{value}"


@dataclass(frozen=True)
class RacpRequest:
    op_code: int
    operator: int
    filter_type: int | None = None
    operand: tuple[int, ...] = ()  # one sequence number, or two for WITHIN_RANGE_OF

    def to_json(self) -> dict[str, Any]:
        return {
            "op_code": _label(OpCode, self.op_code),
            "operator": _label(Operator, self.operator),
            "filter_type": _label(FilterType, self.filter_type),
            "operand": list(self.operand),
        }


@dataclass(frozen=True)
class RacpResponse:
    op_code: int
    request_op_code: int | None = None
    response_code: int | None = None
    count: int | None = None
    operator: int = 0  # responses carry 0 (null); some meters send another value

    @property
    def odd(self) -> bool:
        """Not the answer the spec prescribes, though readable (a non-null operator)."""
        return self.operator != Operator.NULL

    @property
    def ok(self) -> bool:
        return self.response_code == ResponseCode.SUCCESS

    @property
    def no_records(self) -> bool:
        return self.response_code == ResponseCode.NO_RECORDS_FOUND

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op_code": _label(OpCode, self.op_code)}
        if self.op_code == OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE:
            out["count"] = self.count
        else:
            out["request_op_code"] = _label(OpCode, self.request_op_code)
            out["response"] = _label(ResponseCode, self.response_code)
        return out


def report_all() -> bytes:
    return bytes([OpCode.REPORT_STORED_RECORDS, Operator.ALL_RECORDS])


def report_from(sequence: int) -> bytes:
    """Records with sequence number >= `sequence`."""
    if not 0 <= sequence <= 0xFFFF:
        raise ValueError(f"sequence {sequence} outside 0..65535")
    return bytes(
        [OpCode.REPORT_STORED_RECORDS, Operator.GREATER_THAN_OR_EQUAL_TO, FilterType.SEQUENCE_NUMBER]
    ) + sequence.to_bytes(2, "little")


def report_first() -> bytes:
    """The record with the lowest sequence number (some meters: the newest)."""
    return bytes([OpCode.REPORT_STORED_RECORDS, Operator.FIRST_RECORD])


def report_last() -> bytes:
    return bytes([OpCode.REPORT_STORED_RECORDS, Operator.LAST_RECORD])


def report_number_all() -> bytes:
    return bytes([OpCode.REPORT_NUMBER_OF_STORED_RECORDS, Operator.ALL_RECORDS])


def abort() -> bytes:
    return bytes([OpCode.ABORT_OPERATION, Operator.NULL])


def response_code(request_op_code: int, code: int) -> bytes:
    return bytes([OpCode.RESPONSE_CODE, Operator.NULL, request_op_code, code])


def number_response(count: int) -> bytes:
    return bytes([OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, Operator.NULL]) + count.to_bytes(2, "little")


def decode_response(data: bytes | bytearray, *, strict: bool = True) -> RacpResponse:
    """`strict=False` (the download) reads a response with a non-null operator, flagged `odd`."""
    r = Reader(data, "Record Access Control Point 0x2A52")
    op = r.u8("op_code")
    operator = r.u8("operator")
    if operator != Operator.NULL and strict:
        raise r.error("operator", f"responses carry operator 0 (null), got {operator}", 1)
    if op == OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE:
        return RacpResponse(op, count=r.u16("number_of_records"), operator=operator)
    if op == OpCode.RESPONSE_CODE:
        return RacpResponse(
            op,
            request_op_code=r.u8("request_op_code"),
            response_code=r.u8("response_code"),
            operator=operator,
        )
    raise r.error("op_code", f"{op} is not a response op code (5 or 6)", 0)


def decode_request(data: bytes | bytearray) -> RacpRequest:
    r = Reader(data, "Record Access Control Point 0x2A52")
    op = r.u8("op_code")
    operator = r.u8("operator")
    if operator not in (
        Operator.GREATER_THAN_OR_EQUAL_TO,
        Operator.LESS_THAN_OR_EQUAL_TO,
        Operator.WITHIN_RANGE_OF,
    ):
        return RacpRequest(op, operator)
    filter_type = r.u8("filter_type")
    if filter_type != FilterType.SEQUENCE_NUMBER:
        return RacpRequest(op, operator, filter_type)  # user-facing-time operands left to the meter
    first = r.u16("operand")
    if operator == Operator.WITHIN_RANGE_OF:
        return RacpRequest(op, operator, filter_type, (first, r.u16("operand.max")))
    return RacpRequest(op, operator, filter_type, (first,))


def decode(data: bytes | bytearray) -> RacpRequest | RacpResponse:
    """Either direction, for the technician's decode tool: op codes 5 and 6 are responses."""
    if data and data[0] in (OpCode.NUMBER_OF_STORED_RECORDS_RESPONSE, OpCode.RESPONSE_CODE):
        return decode_response(data)
    return decode_request(data)
