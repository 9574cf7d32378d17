using System.ComponentModel.DataAnnotations;

namespace Im.Contracts;

/// <summary>
/// An AI interaction record: the spec's fields, then where the answer came from (<c>model</c>, the
/// <c>seq</c> range sent as context, <c>attempts</c>) and how it was decided (<c>ai_mode</c> it was
/// opened under; <c>review_state</c>, <c>reviewed_by</c>, <c>edited</c> are null outside review).
/// </summary>
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
    string UpdatedAt,
    string? Model = null,
    long? ContextFromSeq = null,
    long? ContextToSeq = null,
    int Attempts = 1,
    [property: AllowedValues(AiModes.Auto, AiModes.Review, AiModes.Off)] string AiMode = AiModes.Auto,
    string? ReviewState = null,
    string? ReviewedBy = null,
    bool? Edited = null);

public sealed record AiInteractionListResponse(IReadOnlyList<AiInteractionResponse> Records, long Total, int Page, int PageSize);

/// <summary>How a group's AI answers: on its own (v0.2), as drafts a doctor reviews, or not at all.</summary>
public static class AiModes
{
    public const string Auto = "auto";
    public const string Review = "review";
    public const string Off = "off";
}

/// <summary>The <c>state</c> of an <c>ai_state</c> frame, in the order a reply goes through them.</summary>
public static class AiStates
{
    public const string Thinking = "thinking";
    public const string Generating = "generating";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Stopped = "stopped";
    /// <summary>Review mode: a draft waits for a doctor (what everyone but the doctors is told).</summary>
    public const string InReview = "in_review";
    /// <summary>Review mode: a doctor rejected the draft; nothing reaches the patient.</summary>
    public const string Rejected = "rejected";
}

/// <summary>A record's <c>review_state</c> in review mode (null outside it).</summary>
public static class ReviewStates
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Rejected = "rejected";
}

/// <summary><c>GET /api/ai/interactions/{record_id}/draft</c>: a pending draft, for its group's doctors and admins only.</summary>
public sealed record AiDraftResponse(string RecordId, string GroupId, string UserMessageId, string Content, string CreatedAt);

/// <summary><c>POST …/approve</c>: the text to send instead of the draft, when a doctor edited it.</summary>
public sealed record ApproveDraftRequest([property: StringLength(Limits.ContentMax, MinimumLength = 1)] string? Content = null);
