using Im.Actors.Groups;
using Im.Actors.Queries;
using Im.Contracts;

namespace Im.Host.Api;

/// <summary>Spec 2.2: groups and members.</summary>
public static class GroupApi
{
    public static void MapGroupApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/group");
        api.MapPost("/create", CreateGroup);
        api.MapGet("/{group_id}", GetGroup);
        api.MapPost("/{group_id}/members", AddMember);
        api.MapGet("/{group_id}/members", GetMembers);
    }

    private static async Task<IResult> CreateGroup(HttpContext context, ActorGateway actors, CancellationToken cancellation)
    {
        if (CallerIdentity.Of(context) is not { } creator) return CallerIdentity.Missing(context);
        return await JsonBody.Handle(context.Request, RequestReader.CreateGroup,
            body => actors.AskGroup<GroupResponse>(GroupCommands.CreateGroup.New(body, creator), cancellation), cancellation);
    }

    private static async Task<IResult> GetGroup(string group_id, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<GroupResponse>(new Queries.GetGroup(group_id), cancellation);

    private static async Task<IResult> AddMember(string group_id, HttpRequest request, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await JsonBody.Handle(request, RequestReader.AddMember,
                body => actors.AskGroup<AddMemberResponse>(new GroupCommands.AddMember(group_id, body.UserId, body.UserRole), cancellation),
                cancellation);

    private static async Task<IResult> GetMembers(string group_id, ActorGateway actors, CancellationToken cancellation) =>
        RequestReader.CheckId("group_id", group_id) is { } invalid
            ? ApiResults.Error(invalid)
            : await actors.Query<MemberListResponse>(new Queries.GetMembers(group_id), cancellation);
}
