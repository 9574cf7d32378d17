namespace Im.Contracts;

/// <summary>The three roles of the spec, exact uppercase strings on the wire.</summary>
public static class UserRoles
{
    public const string Patient = "PATIENT";
    public const string Doctor = "DOCTOR";
    public const string AiAssistant = "AI_ASSISTANT";

    public static readonly IReadOnlyList<string> All = [Patient, Doctor, AiAssistant];

    // Ordinal on purpose: "patient" or "Patient" is a bad role, not a spelling of one.
    public static bool IsValid(string? role) => role is Patient or Doctor or AiAssistant;
}

public static class MessageTypes
{
    public const string Text = "TEXT";
    public const string Image = "IMAGE";
    public const string AiReply = "AI_REPLY";
}

public static class AiRecordStatus
{
    public const int Pending = 0;
    public const int Succeeded = 1;
    public const int Failed = 2;
}
