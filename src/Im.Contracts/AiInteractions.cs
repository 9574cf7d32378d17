using System.ComponentModel.DataAnnotations;

namespace Im.Contracts;

public sealed record AiInteractionResponse(
    long Id,
    string RecordId,
    string GroupId,
    string UserMessageId,
    string? AiMessageId,
    string AiServiceUrl,
    [property: AllowedValues(AiRecordStatus.Pending, AiRecordStatus.Succeeded, AiRecordStatus.Failed)] int Status,
    long? DurationMs,
    string? ErrorMessage,
    string CreatedAt,
    string UpdatedAt);

public sealed record AiInteractionListResponse(IReadOnlyList<AiInteractionResponse> Records, long Total, int Page, int PageSize);
