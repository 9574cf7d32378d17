namespace Im.Contracts;

/// <summary>Lengths from the spec, counted in Unicode characters (code points), not UTF-16 units.</summary>
/// <remarks>
/// The request records repeat them as <c>[StringLength]</c> and <c>[AllowedValues]</c> so the OpenAPI
/// document states them (JSON Schema's lengths count code points too); <see cref="RequestReader"/> is
/// what enforces them, with the rules those attributes cannot say.
/// </remarks>
public static class Limits
{
    public const int UsernameMax = 64;
    public const int GroupNameMax = 128;
    // The spec sets no bound on a description; an unbounded one is a memory hazard, so it gets one.
    public const int DescriptionMax = 1024;
    public const int MemberUserIdMax = 48;
    public const int IdMax = 64;
    public const int ContentMax = 5000;
    public const int ClientMsgIdMax = 64;
    public const int PageSizeMax = 100;
    public const int DefaultPageSize = 20;
    /// <summary>The longest pause of a group's AI after a doctor's message: a day.</summary>
    public const int PauseAfterDoctorMax = 86_400;

    public static int CountCharacters(string value)
    {
        var count = 0;
        foreach (var _ in value.EnumerateRunes())
        {
            count++;
        }
        return count;
    }
}
